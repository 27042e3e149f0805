r"""Inpaint images with a trained GAIN model (an exported model or a training checkpoint).

    python -m experiments.inpaint --model=export/gain --image=photo.png --mask=hole.png \
        --output=filled.png
    python -m experiments.inpaint --model=export/gain.tflite --image=photo.png --mask=hole.png \
        --output=filled.png
    python -m experiments.inpaint --model_dir=runs/small --image_dir=photos --mask_dir=masks \
        --output_dir=filled

Masks: **white = hole**. A pixel is a hole where its brightest channel is above 127 (white, or any
bright colour; a mask with other values than 0 and 255 is thresholded there, with a warning);
transparent pixels of a PNG with alpha are kept, as if the mask were composited onto black.

In folder mode images and masks are matched by their path relative to the folder without
extension (``a/b.jpg`` <-> ``a/b.png``); images without a mask are listed and skipped, and a
progress line with an ETA runs on stderr. Known pixels come back unchanged. Outputs are PNG,
written atomically.

Without ``--model``, ``--saved_model`` or ``--model_dir`` it uses the model shipped with the
repository, ``models/gain-photo`` (its ``MODEL_CARD.md`` says what it was trained on and how it
scores). ``--model`` takes any export of ``experiments/export.py``: a SavedModel folder, a ``.tflite`` file
(TFLite interpreter) or an ``.onnx`` file (onnxruntime, the ``[onnx]`` extra); ``--saved_model``
still names a SavedModel. A TFLite model has a fixed input size S: ``auto`` and ``crop`` scale each
crop to fit it, smaller inputs are padded to it, and ``--mode=full`` on a larger image is refused.

Any size works. ``--mode`` picks how (docs/inpainting.md; :mod:`gain_tf.anysize`): ``full`` runs the whole
image (refused with its memory estimate above ``--max_memory_gb``), ``crop`` cuts a window around
each hole region (grown by ``--margin``, default about the region's size and at least 32 px),
scales it to the model's training size, inpaints it and pastes the hole pixels back, ``resize``
scales the whole image; ``auto`` (default) is ``crop`` for images over the training size::

    python -m experiments.inpaint --saved_model=demo_out/saved_model --image=big.jpg \
        --mask=big_mask.png --output=big_filled.png --mode=crop --margin=64

Errors are one line on stderr each, and the exit code is 1 (in folder mode every image is tried).
Empty and truncated files are refused, and so are PNG / JPEG files whose header announces more than
``--max_pixels`` pixels, before decoding (a decompression bomb). ``--output_dir`` may not lie inside
``--image_dir`` or ``--mask_dir`` (outputs would be read back as inputs).
"""
from __future__ import annotations

import os
import sys

from absl import app, flags

import experiments
from experiments import define_model_flags, model_or_shipped, no_extra_args
from gain_tf import DEFAULT_MAX_MEMORY_GB, DEFAULT_MAX_PIXELS


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines this tool's flags (called by ``__main__``; tests pass their own ``FlagValues``)."""
    fv = flag_values
    flags.DEFINE_string("image", None, "One input image.", flag_values=fv)
    flags.DEFINE_string("mask", None, "Its mask (white = hole; black and transparent = keep).",
                        flag_values=fv)
    flags.DEFINE_string("output", None, "Output PNG for --image.", flag_values=fv)
    flags.DEFINE_string("image_dir", None, "Folder of input images (recursive).", flag_values=fv)
    flags.DEFINE_string("mask_dir", None, "Folder of masks, matched to images by relative path stem.",
                        flag_values=fv)
    flags.DEFINE_string("output_dir", None, "Output folder for --image_dir (PNGs).", flag_values=fv)
    define_model_flags(fv, exported=True)
    flags.adopt_module_key_flags(experiments, flag_values=fv)   # listed by --help too
    flags.DEFINE_enum("mode", "auto", ["auto", "full", "crop", "resize"],
                      "How to run images of another size than the training size: "
                      "auto = crop above it, resize below.",
                      flag_values=fv)
    flags.DEFINE_integer("margin", None, "Crop mode: context around each hole region in px "
                         "(default: the region's longer side, at least 32).", flag_values=fv)
    flags.DEFINE_float("max_memory_gb", DEFAULT_MAX_MEMORY_GB, "Full mode: refuse above this "
                       "memory estimate.", flag_values=fv)
    flags.DEFINE_integer("max_pixels", DEFAULT_MAX_PIXELS, "Refuse images with more pixels.",
                         flag_values=fv)


class InpaintError(Exception):
    """A user-facing error; the message is one line."""


_progress = None   # folder mode's progress line: messages go through it (Progress.write)


def _say(line: str) -> None:
    if _progress is not None:
        _progress.write(line)
    else:
        print(line, file=sys.stderr)


def _warn(msg: str) -> None:
    _say(f"warning: {msg}")


def _error(msg: str) -> None:
    _say(f"error: {msg}")


def _by_stem(paths, root) -> dict:
    """``{name relative to root without extension: path}``; two files of one such name (``a.jpg``
    and ``a.png``) are an :class:`InpaintError`: images would write one output, masks be chosen
    at random."""
    found = {}
    for path in paths:
        s = _stem(path, root)
        if s in found:
            raise InpaintError(f"{found[s]} and {path} have the same name but for the extension: "
                               "images and masks are matched by name, and each writes <name>.png; "
                               "rename one")
        found[s] = path
    return found


def _stem(path: str, root: str) -> str:
    return os.path.splitext(os.path.relpath(path, root))[0]


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (symbolic links resolved)."""
    p, f = os.path.realpath(path), os.path.realpath(folder)
    return p == f or p.startswith(f.rstrip(os.sep) + os.sep)


def read_inputs(image_path: str, mask_path: str, max_pixels: int | None = None):
    """``(image uint8 [H,W,3], hole mask uint8 [H,W,1] in {0, 255})``; raises ``InpaintError``.

    Files whose PNG / JPEG header announces more than ``max_pixels`` pixels are refused before
    decoding (None = :data:`gain_tf.DEFAULT_MAX_PIXELS`)."""
    import numpy as np

    from gain_tf.images import ImageReadError, read_image
    from gain_tf.mask_files import read_mask
    from gain_tf.masks import FILE_HOLE_THRESHOLD, hole_mask_from_valid, valid_from_hole_mask

    try:
        limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
        image = read_image(image_path, max_pixels=limit)
        gray = read_mask(mask_path, max_pixels=limit)
    except ImageReadError as e:
        raise InpaintError(str(e)) from None
    if gray.shape[:2] != image.shape[:2]:
        raise InpaintError(f"size mismatch: image {image_path} is {image.shape[1]}x{image.shape[0]} "
                           f"(WxH) but mask {mask_path} is {gray.shape[1]}x{gray.shape[0]}")
    if not np.all((gray == 0) | (gray == 255)):
        _warn(f"{mask_path}: mask has values other than 0 and 255; thresholded at "
              f"{FILE_HOLE_THRESHOLD} (above = hole)")
    valid = valid_from_hole_mask(gray, threshold=FILE_HOLE_THRESHOLD, dtype="float32")
    return image, hole_mask_from_valid(valid)


def inpaint_file(get_inpainter, image_path: str, mask_path: str, output_path: str,
                 said: set | None = None, **options) -> None:
    """Reads, inpaints (``get_inpainter()`` gives the model, loaded on first use) and writes one
    image; ``options`` go to :func:`gain_tf.anysize.inpaint_image` (mode, margin, limits).
    ``said``: the once-per-run warnings already given (the caller's set, updated)."""
    from gain_tf.anysize import InpaintInputError, inpaint_image, runs_off_size
    from gain_tf.images import write_png

    image, hole = read_inputs(image_path, mask_path, options.get("max_pixels"))
    if hole.all():
        raise InpaintError(f"{mask_path}: the mask covers the whole image (white = hole; black "
                           "and transparent = keep): no known pixels to inpaint from")
    if not hole.any():
        _warn(f"{mask_path}: mask has no hole; writing {image_path} unchanged to {output_path}")
        result = image
    else:
        size = get_inpainter().training_size
        said = set() if said is None else said
        if runs_off_size(options.get("mode", "auto"), *image.shape[:2], size) and "full" not in said:
            said.add("full")
            _warn(f"--mode=full runs {image_path} at {image.shape[1]}x{image.shape[0]}, not the "
                  f"model's training size {size}x{size}, where it fills worse (the shipped model on "
                  "256x256 photos: 22.5 dB, against 26.4 in crop mode; docs/inpainting.md#modes); "
                  "the default, auto, crops or scales to the training size")
        try:
            result = inpaint_image(get_inpainter(), image, hole[..., 0], **options).image
        except InpaintInputError as e:
            raise InpaintError(f"{image_path}: {e}") from None
    write_png(output_path, result)


def run(image=None, mask=None, output=None, image_dir=None, mask_dir=None, output_dir=None,
        saved_model=None, model_dir=None, checkpoint=None, model=None, **options) -> int:
    """The tool: returns the exit code (0, or 1 after printing one-line errors to stderr);
    ``options``: ``mode``, ``margin``, ``max_memory_gb``, ``max_pixels``."""
    single = any(x is not None for x in (image, mask, output))
    folder = any(x is not None for x in (image_dir, mask_dir, output_dir))
    if single == folder:
        _error("give either --image, --mask and --output, or --image_dir, --mask_dir and --output_dir")
        return 1
    given = {"--image": image, "--mask": mask, "--output": output, "--image_dir": image_dir,
             "--mask_dir": mask_dir, "--output_dir": output_dir}
    names = list(given)[:3] if single else list(given)[3:]
    lacking = [name for name in names if not given[name]]
    if lacking:
        _error(f"{' and '.join(lacking)} missing: {', '.join(names[:2])} and {names[2]} are all required")
        return 1
    if single and os.path.splitext(output)[1].lower() != ".png":
        _error(f"--output={output}: outputs are PNG (lossless); give a name ending in .png")
        return 1
    if folder:
        for flag, d in (("--image_dir", image_dir), ("--mask_dir", mask_dir)):
            if _inside(output_dir, d):
                _error(f"--output_dir={output_dir} is inside {flag}={d}: outputs would be read back "
                       "as inputs; choose another folder")
                return 1
    try:
        model = model_or_shipped(model, saved_model, model_dir)
    except (ValueError, FileNotFoundError) as e:
        _error(str(e))
        return 1

    cache, said = {}, set()

    def get_inpainter():
        if "model" not in cache:
            from gain_tf.inference import load_inpainter, load_model
            try:
                cache["model"] = (load_model(model) if model else load_inpainter(
                    model_dir=model_dir, saved_model=saved_model, checkpoint=checkpoint))
            except (FileNotFoundError, ValueError, ImportError) as e:
                raise _ModelError(str(e)) from None
        return cache["model"]

    if single:
        try:
            inpaint_file(get_inpainter, image, mask, output, said, **options)
        except (InpaintError, _ModelError, OSError) as e:
            _error(str(e))
            return 1
        print(f"wrote {output}")
        return 0

    from gain_tf.images import list_image_files
    try:
        images = list_image_files(image_dir)
        masks = list_image_files(mask_dir)
    except FileNotFoundError as e:
        _error(str(e))
        return 1
    if not images:
        _error(f"{image_dir}: no images found")
        return 1
    try:
        image_by_stem, mask_by_stem = _by_stem(images, image_dir), _by_stem(masks, mask_dir)
    except InpaintError as e:
        _error(str(e))
        return 1
    pairs, missing = [], []
    for s, path in image_by_stem.items():
        (pairs.append((path, mask_by_stem[s], os.path.join(output_dir, s + ".png")))
         if s in mask_by_stem else missing.append(path))
    if missing:
        _warn(f"{len(missing)} image(s) without a mask in {mask_dir}, skipped: " + ", ".join(missing))
    unused = [m for s, m in mask_by_stem.items() if s not in image_by_stem]
    if unused:
        _warn(f"{len(unused)} mask(s) without an image in {image_dir}, unused: " + ", ".join(unused))
    if not pairs:
        _error(f"no image of {image_dir} has a mask in {mask_dir} (matched by file stem)")
        return 1
    global _progress
    from gain_tf.progress import Progress
    failed = written = 0
    _progress = Progress(len(pairs), desc="inpaint")
    try:
        for image_path, mask_path, out_path in pairs:
            try:
                inpaint_file(get_inpainter, image_path, mask_path, out_path, said, **options)
                written += 1
            except _ModelError as e:
                _error(str(e))
                return 1
            except (InpaintError, OSError) as e:
                _error(str(e))
                failed += 1
            _progress.update(1, failed=failed)
    finally:
        _progress.close()
        _progress = None
    print(f"wrote {written} image(s) to {output_dir}" + (f"; {failed} failed" if failed else ""))
    return 1 if failed else 0


class _ModelError(Exception):
    """Loading the model failed: fatal in folder mode too."""


def main(argv, flag_values=flags.FLAGS) -> int:
    no_extra_args(argv)
    f = flag_values
    return run(image=f.image, mask=f.mask, output=f.output, image_dir=f.image_dir, mask_dir=f.mask_dir,
               output_dir=f.output_dir, saved_model=f.saved_model, model_dir=f.model_dir,
               checkpoint=f.checkpoint, model=f.model, mode=f.mode, margin=f.margin,
               max_memory_gb=f.max_memory_gb, max_pixels=f.max_pixels)


if __name__ == "__main__":
    define_flags()
    app.run(main)
