r"""An interactive page: paint the hole on your photo, inpaint it, and look at GAIN's own views.

    python -m experiments.app                       # or: make app (the shipped models/gain-photo)
    python -m experiments.app --saved_model=demo_out/saved_model     # make demo's model
    # then open http://127.0.0.1:7860

Upload or paste a photo into the editor, paint the hole with the brush (its size is adjustable;
the eraser, undo and redo are in the editor's toolbar), choose a mode and press **Inpaint**. The
result is shown over the original with a slider; the result and the mask download as PNGs. Two
views show what only GAIN has: the **predicted gradient magnitude** and the **fill order**, a strip
of how branch 1's hole shrinks block by block (the ``fill_order`` signature of the SavedModel).
Large photos go through ``crop`` mode (``auto``), with a progress bar per hole region.

Everything the server writes stays in ``--output_dir`` (default ``app_out/``): Gradio's uploads and
cache (``GRADIO_TEMP_DIR``), temporary files, Keras's ``keras.json`` (``KERAS_HOME``, unless set),
and one folder per run in ``runs/`` (the last
:data:`KEEP_RUNS` are kept) with ``input.png`` (the photo as the server received it), ``mask.png``
(white = hole), ``inpainted.png``, ``gradient.png``, ``fill_order.png`` and ``run.json``;
``last_run.json`` names the newest. Bad input (not an image, no hole, a hole covering the whole
photo, a photo over ``--max_pixels``) gets one message on the page and the server keeps serving.

The module is thin: :func:`build_app` makes the ``gr.Blocks``; the pure functions
(:func:`read_editor_payload`, :func:`split_editor_value`, :func:`gradient_view`, :func:`view_region`, :func:`fill_order_strip`)
are tested without a browser. Gradio is imported only inside :func:`build_app` / :func:`main`,
after :func:`prepare_environment` has pointed its temporary folder into the output folder.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime
from typing import Optional

import numpy as np
from absl import app, flags

KEEP_RUNS = 20
VIEW_MAX_SIDE = 512          # the gradient view's longer side at most (pixels)
VIEW_MIN_SIDE = 256          # smaller views are enlarged (by a whole factor, nearest) to about this
TILE = 144                   # a fill-order tile's longer side (pixels)
HOLE_RGB = (236, 64, 200)    # remaining hole in the fill-order strip
FILLED_RGB = (64, 200, 120)  # hole pixels filled so far
MODE_CHOICES = ("auto", "crop", "full", "resize")
UPLOAD_LIMIT = "300mb"


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines this tool's flags (called by ``__main__``; tests pass their own ``FlagValues``)."""
    fv = flag_values
    flags.DEFINE_string("saved_model", None, "SavedModel from experiments/export.py (default: the "
                        "shipped models/gain-photo; make demo writes demo_out/saved_model).",
                        flag_values=fv)
    flags.DEFINE_string("host", "127.0.0.1", "Address to bind (127.0.0.1: this machine only).",
                        flag_values=fv)
    flags.DEFINE_integer("port", 7860, "Port to serve on.", flag_values=fv)
    flags.DEFINE_string("output_dir", "app_out", "Everything the server writes goes here.",
                        flag_values=fv)
    flags.DEFINE_integer("max_pixels", 40_000_000, "Refuse photos with more pixels than this.",
                         flag_values=fv)
    flags.DEFINE_float("max_memory_gb", 8.0, "Refuse --mode=full runs estimated over this.",
                       flag_values=fv)


# ------------------------------------------------------------------------------- pure functions
def _input_error(msg: str):
    from gain_tf.inference import InpaintInputError
    return InpaintInputError(msg)


def _to_rgb(array) -> np.ndarray:
    """uint8 RGB ``[H,W,3]`` from an editor image: gray, RGB, or RGBA (flattened onto white)."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise _input_error(f"the photo has an unexpected shape {a.shape}")
    if a.shape[-1] == 1:
        return np.repeat(a, 3, axis=-1)
    if a.shape[-1] == 3:
        return a
    rgb = a[..., :3].astype(np.uint16)
    alpha = a[..., 3:4].astype(np.uint16)
    if np.all(alpha == 255):
        return np.ascontiguousarray(a[..., :3])
    return ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def split_editor_value(value) -> tuple:
    """A ``gr.ImageEditor`` value -> ``(image uint8 [H,W,3], hole mask uint8 [H,W] in {0, 255})``.

    ``value`` is ``{'background': array, 'layers': [RGBA arrays], 'composite': array}``: the
    background is the photo (RGBA is flattened onto white), and every pixel that any layer painted
    (alpha > 0, so a stroke's soft edge counts too) is hole. Raises
    :class:`gain_tf.inference.InpaintInputError` when there is no photo or a layer's size differs.
    An unpainted photo gives an all-zero mask (``inpaint_image`` then says so).
    """
    if not isinstance(value, dict) or value.get("background") is None:
        raise _input_error("upload or paste a photo first, then paint the hole on it")
    image = _to_rgb(value["background"])
    h, w = image.shape[:2]
    hole = np.zeros((h, w), bool)
    for layer in value.get("layers") or []:
        if layer is None:
            continue
        layer = np.asarray(layer)
        if layer.shape[:2] != (h, w):
            raise _input_error(f"the painted layer is {layer.shape[1]}x{layer.shape[0]} but the "
                               f"photo is {w}x{h}: paint on the photo as uploaded")
        if layer.ndim == 3 and layer.shape[-1] == 4:
            painted = layer[..., 3] > 0
        elif layer.ndim == 3:
            painted = layer.any(axis=-1)
        else:
            painted = layer > 0
        hole |= painted
    return image, np.where(hole, 255, 0).astype(np.uint8)


def check_page_input(image: np.ndarray, hole: np.ndarray, max_pixels: int) -> None:
    """The page's own wording of ``inpaint_image``'s input checks, in the same order: a photo over
    ``max_pixels``, nothing painted, everything painted (:class:`InpaintInputError` each)."""
    h, w = hole.shape
    if h * w > max_pixels:
        raise _input_error(pixel_limit_message(w, h, max_pixels))
    if not np.any(hole):
        raise _input_error("nothing is painted: paint the hole on the photo with the brush, then "
                           "press Inpaint")
    if np.all(hole):
        raise _input_error("the painted hole covers the whole photo: leave some of it unpainted "
                           "to inpaint from")


def pixel_limit_message(width: int, height: int, max_pixels: int) -> str:
    return (f"the photo is {width}x{height} ({width * height / 1e6:.1f} megapixels), over this "
            f"page's limit of {max_pixels / 1e6:g} megapixels (--max_pixels): scale it down first")


def view_region(hole: np.ndarray, mode: str, training_size: int,
                margin: Optional[int] = None) -> tuple:
    """The box ``(y0, x0, y1, x1)`` the GAIN views show: for ``crop`` mode the crop window (from
    :func:`gain_tf.inference.hole_boxes`) holding the most hole pixels, else the whole image."""
    from gain_tf.inference import hole_boxes, resolve_mode
    h, w = hole.shape
    if resolve_mode(mode, h, w, training_size) != "crop":
        return 0, 0, h, w
    boxes = hole_boxes(hole > 0, margin, min_size=training_size)
    if not boxes:
        return 0, 0, h, w
    return max(boxes, key=lambda b: int((hole[b[0]:b[2], b[1]:b[3]] > 0).sum()))


def _fit(image: np.ndarray, max_side: int, interpolation=None) -> np.ndarray:
    """``image`` scaled down so its longer side is at most ``max_side`` (never up)."""
    import cv2
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if interpolation is None
                      else interpolation)


def _hole_outline(view: np.ndarray, hole: np.ndarray, color=(255, 255, 255)) -> np.ndarray:
    import cv2
    mask = (cv2.resize(hole.astype(np.uint8), (view.shape[1], view.shape[0]),
                       interpolation=cv2.INTER_NEAREST) > 0).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.ascontiguousarray(view)
    cv2.drawContours(out, contours, -1, color, 1)
    return out


def gradient_view(gradient: np.ndarray, hole: Optional[np.ndarray] = None,
                  max_side: int = VIEW_MAX_SIDE, min_side: int = VIEW_MIN_SIDE) -> np.ndarray:
    """GAIN's predicted guidance as a picture: uint8 RGB ``[h, w, 3]``, longer side ≤ ``max_side``
    (a map whose longer side is under ``min_side`` is enlarged by a whole factor, nearest pixel).

    Two channels ``(∂x, ∂y)``: the magnitude ``sqrt(∂x² + ∂y²)``, scaled by its 99th percentile
    away from the border (4 % of the shorter side, where padding artefacts saturate the scale);
    one channel (edge models' logits): the edge probability ``sigmoid``. Shown with the magma
    colour map, the hole outlined in white. An all-zero map (``guidance='none'``) is black.
    """
    import cv2
    g = np.asarray(gradient, np.float32)
    if g.ndim == 2:
        g = g[..., None]
    if g.shape[-1] >= 2:
        value = np.sqrt(np.sum(np.square(g[..., :2]), axis=-1))
        b = max(1, round(0.04 * min(value.shape)))     # the border's padding artefacts aside
        inner = value[b:-b, b:-b] if min(value.shape) > 4 * b else value
        top = float(np.percentile(inner, 99)) if inner.size else 0.0
        value = value / top if top > 0 else np.zeros_like(value)
    else:
        value = 1.0 / (1.0 + np.exp(-np.clip(g[..., 0], -30, 30)))
    gray = (np.clip(value, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    gray = _fit(gray, max_side)
    factor = max(1, min_side // max(gray.shape))
    if factor > 1:
        gray = np.repeat(np.repeat(gray, factor, axis=0), factor, axis=1)
    rgb = cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_MAGMA), cv2.COLOR_BGR2RGB)
    if hole is not None and np.any(hole):
        rgb = _hole_outline(rgb, np.asarray(hole) > 0)
    return rgb


def fill_order_input(image: np.ndarray, hole: np.ndarray, max_side: int) -> tuple:
    """``(image, hole mask uint8)`` scaled so the longer side is at most ``max_side`` (the training
    size in ``crop`` and ``resize`` modes: the network sees the region so; a scaled-down pixel is
    hole if any of it was): the scaling of :func:`gain_tf.inference.downscale`."""
    from gain_tf.inference import downscale
    return downscale(image, hole, max_side)


def _label(tile: np.ndarray, lines: list, band: int = 30) -> np.ndarray:
    import cv2
    out = np.full((tile.shape[0] + band, tile.shape[1], 3), 255, np.uint8)
    out[:tile.shape[0]] = tile
    for i, text in enumerate(lines[:2]):
        cv2.putText(out, text, (3, tile.shape[0] + 12 + 13 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.36,
                    (20, 20, 20), 1, cv2.LINE_AA)
    return out


def fill_order_strip(image: np.ndarray, hole: np.ndarray, names: list, masks: np.ndarray,
                     tile: int = TILE, per_row: int = 5) -> np.ndarray:
    """How the hole shrinks block by block, as one uint8 RGB picture.

    ``image`` / ``hole`` (non-zero = hole) are what the model saw; ``masks [K, h', w']`` are branch
    1's masks after each block (1 = known, at 1/4 of the padded input, as
    ``Inpainter.fill_order`` returns them) and ``names`` their blocks. The first tile is the input
    hole; then one tile per block: the remaining hole in magenta, the part filled so far in green,
    labelled with the block name and the share of the input hole still open. Tiles are
    ``tile`` px on the longer side, ``per_row`` to a row.
    """
    import cv2
    masks = np.asarray(masks, np.float32)
    if masks.ndim != 3 or len(names) != masks.shape[0]:
        raise ValueError(f"expected {len(names)} masks [K, h, w], got shape {masks.shape}")
    h, w = hole.shape
    scale = tile / max(h, w)
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    base = cv2.resize(np.asarray(image, np.uint8), (tw, th), interpolation=interp)
    base = (base.astype(np.float32) * 0.55 + 255 * 0.45)            # faded photo
    hole_t = cv2.resize((hole > 0).astype(np.uint8), (tw, th), interpolation=cv2.INTER_NEAREST) > 0
    hole_px = max(1, int((hole > 0).sum()))

    def paint(region_open, region_filled):
        t = base.copy()
        t[region_filled] = t[region_filled] * 0.3 + np.array(FILLED_RGB) * 0.7
        t[region_open] = t[region_open] * 0.15 + np.array(HOLE_RGB) * 0.85
        return t.astype(np.uint8)

    tiles = [_label(paint(hole_t, np.zeros_like(hole_t)), ["input hole", "100% open"])]
    ch, cw = -(-h // 4), -(-w // 4)                                  # the unpadded 1/4 grid
    for name, m in zip(names, masks):
        m = m[:ch, :cw]
        open_small = m < 0.5
        open_full = cv2.resize(open_small.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        share = 100.0 * float((open_full & (hole > 0)).sum()) / hole_px
        open_t = cv2.resize(open_small.astype(np.uint8), (tw, th), interpolation=cv2.INTER_NEAREST) > 0
        label = name[len("structure_"):] if name.startswith("structure_") else name
        tiles.append(_label(paint(open_t, hole_t & ~open_t), [label, f"{share:.0f}% open"]))
    gap = 6
    rows = [tiles[i:i + per_row] for i in range(0, len(tiles), per_row)]
    th2, tw2 = tiles[0].shape[:2]
    width = per_row * tw2 + (per_row - 1) * gap if len(rows) > 1 else len(tiles) * tw2 + (len(tiles) - 1) * gap
    out = np.full((len(rows) * th2 + (len(rows) - 1) * gap, width, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, t in enumerate(row):
            y, x = r * (th2 + gap), c * (tw2 + gap)
            out[y:y + th2, x:x + tw2] = t
    return out


# ---------------------------------------------------------------------------- the output folder
def prepare_environment(output_dir: str) -> str:
    """Creates ``output_dir`` and points Gradio's uploads/cache (``GRADIO_TEMP_DIR``) and Python's
    temporary files into it, analytics off. Call before importing gradio. Returns the absolute path."""
    output_dir = os.path.abspath(output_dir)
    for sub in ("gradio_tmp", "tmp", "runs"):
        os.makedirs(os.path.join(output_dir, sub), exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(output_dir, "gradio_tmp")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["TMPDIR"] = os.path.join(output_dir, "tmp")
    tempfile.tempdir = os.environ["TMPDIR"]
    return output_dir


class RunRecorder:
    """Writes one folder per run under ``<output_dir>/runs`` (keeping the last ``keep``) and
    ``<output_dir>/last_run.json`` naming the newest."""

    def __init__(self, output_dir: str, keep: int = KEEP_RUNS):
        self.root = os.path.join(output_dir, "runs")
        self.last = os.path.join(output_dir, "last_run.json")
        self.keep = keep
        self._lock = threading.Lock()
        os.makedirs(self.root, exist_ok=True)

    def new_dir(self) -> str:
        with self._lock:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            path = os.path.join(self.root, stamp)
            os.makedirs(path)
            old = sorted(d for d in os.listdir(self.root)
                         if os.path.isdir(os.path.join(self.root, d)))[:-self.keep]
            for d in old:
                shutil.rmtree(os.path.join(self.root, d), ignore_errors=True)
            return path

    def finish(self, path: str, info: dict) -> None:
        from gain_tf.images import atomic_write_bytes
        data = json.dumps(dict(info, dir=path), indent=1).encode()
        atomic_write_bytes(os.path.join(path, "run.json"), data)
        atomic_write_bytes(self.last, data)


def _save_png(path: str, image: np.ndarray) -> str:
    import cv2
    img = np.asarray(image)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(path, img, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"could not write {path}")
    return path


# ------------------------------------------------------------------------------------- the page
def _background_size(component, payload) -> Optional[tuple]:
    """``(width, height)`` of the editor payload's background from its header only, or None."""
    import io

    from PIL import Image
    bg = getattr(payload, "background", None)
    if getattr(payload, "id", None) is not None:
        cached = component.blob_storage.get(payload.id)
        bg = cached.background if cached is not None else None
    if bg is None:
        return None
    source = io.BytesIO(bytes(bg)) if isinstance(bg, (bytes, bytearray, memoryview)) else bg.path
    with Image.open(source) as im:       # lazy: reads the header, not the pixels
        return im.size


def read_editor_payload(editor, payload, max_pixels: int):
    """The editor's value (see :func:`split_editor_value`) from its raw event payload (the click
    event runs with ``preprocess=False``), refusing bad uploads with one
    :class:`InpaintInputError` message each: not an image, or over ``max_pixels`` (checked from
    the file's header, before the pixels are decoded). Gradio has already checked that the files
    are its own uploads. (A subclass of ``gr.ImageEditor`` would do the same, but Gradio writes a
    ``.pyi`` stub beside the module of every component class, outside the output folder.)"""
    from gradio.components.image_editor import EditorData
    from PIL import Image

    if payload is None:
        return None
    data = payload if isinstance(payload, EditorData) else EditorData.model_validate(payload)
    bg = data.background
    name = f"{bg.orig_name}: " if bg is not None and getattr(bg, "orig_name", None) else ""
    bad = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
    try:
        size = _background_size(editor, data)
        if size is not None and size[0] * size[1] > max_pixels:
            raise _input_error(pixel_limit_message(size[0], size[1], max_pixels))
        return editor.preprocess(data)
    except bad as e:
        editor.blob_storage.pop(data.id, None)
        from gain_tf.inference import InpaintInputError
        if isinstance(e, InpaintInputError):
            raise
        kind = ("too many pixels to decode" if isinstance(e, Image.DecompressionBombError)
                else "not an image this page can read (use PNG, JPEG, WebP, BMP or TIFF)")
        raise _input_error(f"{name}{kind}") from None


def _gradient_caption(config) -> str:
    guidance = getattr(getattr(config, "model", None), "guidance", "gradient")
    where = "of the region around the (largest) hole, hole outlined in white"
    if guidance == "edge":
        return f"GAIN's edge stream: the predicted edge probability {where}."
    if guidance == "none":
        return "This model has no guidance stream (guidance='none'): its map is zero."
    return f"GAIN's gradient stream: the predicted gradient magnitude |∇I*| {where}."


def build_app(inpainter, output_dir: str, max_pixels: int = 40_000_000,
              max_memory_gb: float = 8.0):
    """The page (a ``gr.Blocks``) for ``inpainter`` (:func:`gain_tf.inference.load_saved_model`),
    writing only into ``output_dir`` (see the module doc). Launch it with :func:`launch`."""
    output_dir = prepare_environment(output_dir)
    import gradio as gr

    from gain_tf.inference import InpaintInputError, inpaint_image, resolve_mode

    recorder = RunRecorder(output_dir)
    size = inpainter.training_size
    has_fill_order = getattr(inpainter, "fill_order_fn", None) is not None

    def run(editor_payload, mode, progress=gr.Progress()):
        try:
            return _run(read_editor_payload(editor, editor_payload, max_pixels), mode, progress)
        except gr.Error:
            raise
        except InpaintInputError as e:
            raise gr.Error(str(e), title="Cannot inpaint this", print_exception=False) from None
        except MemoryError:
            raise gr.Error("out of memory: use the crop mode or a smaller photo") from None
        except Exception as e:  # noqa: BLE001 - the server keeps serving; the log has the details
            traceback.print_exc()
            msg = " ".join(str(e).split())[:200]
            raise gr.Error(f"inpainting failed ({type(e).__name__}): {msg}") from None

    def _run(editor_value, mode, progress):
        t0 = time.time()
        image, hole = split_editor_value(editor_value)
        check_page_input(image, hole, max_pixels)
        h, w = hole.shape
        used = resolve_mode(mode, h, w, size)
        progress(0.0, desc=f"inpainting {w}x{h} ({used} mode)")
        result, gradient = inpaint_image(
            inpainter, image, hole, mode=mode, max_memory_gb=max_memory_gb, max_pixels=max_pixels,
            progress=lambda done, total: progress((done, total), desc="hole regions",
                                                  unit="regions"))
        seconds = time.time() - t0
        progress(0.9, desc="GAIN views and files")
        y0, x0, y1, x1 = view_region(hole, mode, size)
        grad_img = gradient_view(gradient[y0:y1, x0:x1], hole[y0:y1, x0:x1])
        strip, note = None, ""
        if has_fill_order:
            try:          # at the scale the network ran: crop / resize scale down, full does not
                small, small_hole = fill_order_input(image[y0:y1, x0:x1], hole[y0:y1, x0:x1],
                                                     max(h, w) if used == "full" else size)
                names, masks = inpainter.fill_order(small, small_hole)
                strip = fill_order_strip(small, small_hole, names, masks)
            except Exception as e:  # noqa: BLE001 - a view must not lose the result
                traceback.print_exc()
                note = f" Fill order unavailable: {' '.join(str(e).split())[:160]}."
        else:
            note = " This model has no fill_order signature (export it again to see the fill order)."
        run_dir = recorder.new_dir()
        paths = {k: os.path.join(run_dir, f"{k}.png")
                 for k in ("input", "mask", "inpainted", "gradient", "fill_order")}
        _save_png(paths["input"], image)
        _save_png(paths["mask"], hole)
        _save_png(paths["inpainted"], result)
        _save_png(paths["gradient"], grad_img)
        if strip is not None:
            _save_png(paths["fill_order"], strip)
        else:
            paths.pop("fill_order")
        share = 100.0 * float((hole > 0).mean())
        status = (f"Inpainted {w}x{h} in {seconds:.1f} s ({used} mode), hole {share:.1f} % of the "
                  f"photo; known pixels are unchanged.{note}")
        recorder.finish(run_dir, {"width": w, "height": h, "mode": mode, "used_mode": used,
                                  "seconds": round(seconds, 3), "hole_percent": round(share, 3),
                                  "files": paths, "view_box": [y0, x0, y1, x1]})
        return ((paths["input"], paths["inpainted"]), [paths["inpainted"], paths["mask"]],
                paths["gradient"], paths.get("fill_order"), status)

    intro = (
        "## GAIN inpainting\n"
        "1. Upload or paste a photo. 2. Paint the hole with the brush (any colour; size, eraser, "
        "undo and redo are in the editor's toolbar). 3. Press **Inpaint**. Known pixels come "
        f"back unchanged. Model: `{os.path.basename(os.path.normpath(inpainter.source))}`, "
        f"trained at {size}×{size}; photos over {size} px go through `crop` mode in `auto`.")
    with gr.Blocks(title="GAIN inpainting", delete_cache=(1800, 3600),
                   analytics_enabled=False) as demo:
        gr.Markdown(intro)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                editor = gr.ImageEditor(
                    label="Photo: paint the hole", type="numpy", image_mode="RGBA",
                    sources=["upload", "clipboard"], transforms=(), layers=False,
                    brush=gr.Brush(default_size="auto", colors=["rgba(255, 214, 0, 0.75)"],
                                   color_mode="fixed"),
                    eraser=gr.Eraser(default_size="auto"), format="png", height=520,
                    elem_id="editor")
                with gr.Row():
                    mode = gr.Radio(list(MODE_CHOICES), value="auto", label="Mode",
                                    info="auto: crop for large photos, else full", scale=3,
                                    elem_id="mode")
                    button = gr.Button("Inpaint", variant="primary", scale=1, elem_id="run")
            with gr.Column(scale=1):
                slider = gr.ImageSlider(label="Original | result (drag the handle)", type="filepath",
                                        format="png", interactive=False, max_height=520,
                                        elem_id="result")
                status = gr.Textbox(label="Status", interactive=False, lines=2, elem_id="status")
                files = gr.File(label="Download the result and the mask", file_count="multiple",
                                interactive=False, elem_id="downloads")
        with gr.Tabs():
            with gr.Tab("Predicted gradient magnitude", elem_id="tab_gradient"):
                gr.Markdown(_gradient_caption(inpainter.config))
                grad_out = gr.Image(label="Predicted gradient magnitude", type="filepath",
                                    format="png", interactive=False, elem_id="gradient")
            with gr.Tab("Fill order", elem_id="tab_fill"):
                gr.Markdown("Branch 1's mask after each block: magenta is still hole, green is "
                            "filled so far (at the model's scale).")
                fill_out = gr.Image(label="Fill order", type="filepath", format="png",
                                    interactive=False, elem_id="fill_order")
        button.click(run, inputs=[editor, mode],
                     outputs=[slider, files, grad_out, fill_out, status],
                     api_name="inpaint", concurrency_limit=1, preprocess=False)
    demo.output_dir = output_dir
    return demo


def launch(demo, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Serves ``demo`` (from :func:`build_app`) on ``host:port``: no share link, no analytics, no
    server-side rendering or MCP, system fonts only (nothing fetched from the internet)."""
    import gradio as gr
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    return demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                       prevent_thread_lock=not block, allowed_paths=[demo.output_dir],
                       max_file_size=UPLOAD_LIMIT, ssr_mode=False, mcp_server=False,
                       footer_links=["api", "gradio"], theme=theme, quiet=False)


def main(argv, flag_values=flags.FLAGS) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    fv = flag_values
    if not fv.saved_model:
        from gain_tf.inference import shipped_model
        try:
            fv.saved_model = shipped_model()
        except FileNotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    # Keras writes keras.json into its home when TensorFlow is first imported: keep it in here too
    os.environ.setdefault("KERAS_HOME", os.path.join(os.path.abspath(fv.output_dir), "keras"))
    from gain_tf.inference import load_saved_model
    try:
        inpainter = load_saved_model(fv.saved_model)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    output_dir = prepare_environment(fv.output_dir)    # before gradio is imported
    import logging
    for name in ("httpx", "httpcore", "uvicorn.access"):   # absl shows INFO: not each request
        logging.getLogger(name).setLevel(logging.WARNING)
    demo = build_app(inpainter, output_dir, max_pixels=fv.max_pixels,
                     max_memory_gb=fv.max_memory_gb)
    print(f"serving {fv.saved_model} on http://{fv.host}:{fv.port} (writing to {output_dir}); "
          "Ctrl+C stops", flush=True)
    launch(demo, fv.host, fv.port, block=True)
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
