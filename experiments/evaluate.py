r"""Evaluate GAIN per hole-ratio bucket against OpenCV Telea and Navier–Stokes.

    python -m experiments.evaluate --model_dir=runs/small --data=records/val-*.tfrecord \
        --num_images=200 --output_dir=eval/small
    python -m experiments.evaluate --saved_model=export/gain --data=photos/ --buckets=10-20,50-60 \
        --mask_dir=irregular_masks/test --inception_weights=inception_v3_notop.h5 --output_dir=eval/x
    python -m experiments.evaluate --data=my_photos/ --output_dir=eval/shipped   # the shipped model
    python -m experiments.evaluate --model=export/gain.tflite --data=photos/ --output_dir=eval/tflite

The model is a training run (``--model_dir``), an export (``--saved_model``, or ``--model``: a
SavedModel, ``.tflite`` or ``.onnx``, as ``experiments/inpaint.py`` takes), or by default the
shipped ``models/gain-photo``.

For each bucket: the first ``--num_images`` images of ``--data`` (shorter side resized to
``--image_size``, centre crop), each with the seeded bucket mask of its index (or masks of
``--mask_dir`` whose hole ratio lies in the bucket). ``--mode=crop`` (or auto, full, resize) runs
each image as ``experiments/inpaint.py`` does, so photos larger than the model's training size are
scored the way a user gets them (``--image_size=512 --mode=crop``). Writes ``results.md``, ``results.csv`` and
``grid_<method>_<bucket>.png`` (masked input | GAIN | Telea | ground truth) into ``--output_dir``.
Relative L1, SSIM and PSNR are computed on the uint8 composite, and in the hole the gradient's
energy ratio and L1 of every method's output; a model that predicts the gradient also gets a row
for its ∇I* beside the all-zero gradient. FID only with ``--inception_weights`` (a local Keras
``.h5``; nothing is downloaded).
"""
from __future__ import annotations

import sys
import time

import numpy as np
from absl import app, flags

import experiments
from experiments import define_model_flags, model_or_shipped, no_extra_args


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines this tool's flags (called by ``__main__``; tests pass their own ``FlagValues``)."""
    fv = flag_values
    define_model_flags(fv, exported=True)
    flags.adopt_module_key_flags(experiments, flag_values=fv)   # listed by --help too
    flags.DEFINE_string("data", None, "TFRecord glob / folder, or a folder of images.", flag_values=fv)
    flags.DEFINE_integer("image_size", None, "Evaluation size (default: the model config's, or a "
                         ".tflite export's fixed size).",
                         flag_values=fv)
    flags.DEFINE_string("buckets", "all", "Hole-ratio buckets in percent, e.g. 10-20,30-40 (default all five).",
                        flag_values=fv)
    flags.DEFINE_integer("num_images", 100, "Images per bucket (the same images in every bucket, "
                         "each with its own mask; at most the images --data has).", flag_values=fv)
    flags.DEFINE_string("mask_dir", None, "Folder of mask images (white = hole) instead of seeded masks.",
                        flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of the bucket masks.", flag_values=fv)
    flags.DEFINE_string("inception_weights", None, "Local Inception-v3 .h5 (no top) for FID.",
                        flag_values=fv)
    flags.DEFINE_string("output_dir", None, "Where results and grids go.", flag_values=fv)
    flags.DEFINE_integer("num_grid", 4, "Example rows per bucket grid.", flag_values=fv)
    flags.DEFINE_integer("batch_size", 8, "Images per model call.", flag_values=fv)
    flags.DEFINE_string("method_name", "GAIN", "The model's name in the tables.", flag_values=fv)
    flags.DEFINE_bool("baselines", True, "Also evaluate Telea and Navier–Stokes.", flag_values=fv)
    flags.DEFINE_enum("mode", None, ["auto", "full", "crop", "resize"], "Run each image as the "
                      "inpaint CLI does in this mode (e.g. crop at an --image_size over the model's); "
                      "default: the whole batch through the model at --image_size.", flag_values=fv)


def run(model_dir=None, saved_model=None, checkpoint=None, data=None, image_size=None, buckets="all",
        num_images=100, mask_dir=None, seed=0, inception_weights=None, output_dir=None, num_grid=4,
        batch_size=8, method_name="GAIN", baselines=True, mode=None, model=None) -> int:
    """The tool: returns the exit code (errors: one line on stderr, exit 1)."""
    def error(msg):
        print(f"error: {msg}", file=sys.stderr)
        return 1

    if not data or not output_dir:
        return error("--data and --output_dir are required")
    from gain_tf.evaluation.protocol import evaluate, parse_buckets
    from gain_tf.image_sources import resolve_source
    from gain_tf.inference import load_inpainter, load_model
    try:
        bucket_list = parse_buckets(buckets)
        resolve_source(data)      # a mistyped --data is said before the model loads
        path = model_or_shipped(model, saved_model, model_dir)
        model = (load_model(path) if path else
                 load_inpainter(model_dir=model_dir, saved_model=saved_model, checkpoint=checkpoint))
    except (FileNotFoundError, ValueError, ImportError) as e:
        return error(str(e))
    size = image_size or model.known_size
    if not size:
        return error("--image_size is required (the model's config is unknown)")
    inpaint_fn = model.inpaint_scored
    if mode:
        from gain_tf.anysize import inpaint_image

        def inpaint_fn(images, holes):     # one photo at a time, the CLI's path (no ∇I* row)
            return np.stack([inpaint_image(model, im, ho, mode=mode).image for im, ho in zip(images, holes)])
    try:
        about = {"model": model.source, "data": data,
                 "image size": f"{size}×{size}" + (f", --mode={mode}" if mode else ""),
                 "masks": mask_dir or f"seeded free-form strokes per bucket, seed {seed}",
                 "written": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        rows = evaluate(inpaint_fn, data, output_dir, size, bucket_list, num_images, seed,
                        mask_dir=mask_dir, inception_weights=inception_weights, num_grid=num_grid,
                        method_name=method_name, baselines=baselines, batch_size=batch_size,
                        about=about)
    except (FileNotFoundError, ValueError) as e:
        return error(str(e))
    except Exception as e:  # noqa: BLE001 - a corrupt TFRecord: one line naming the file
        import tensorflow as tf
        if not isinstance(e, tf.errors.DataLossError):
            raise
        from gain_tf.records import corrupt_record_error
        return error(str(corrupt_record_error(data, "val", e)))
    print(f"evaluated {model.source} on {len(bucket_list)} bucket(s): {output_dir}/results.md "
          f"({len(rows)} rows)")
    return 0


def main(argv, flag_values=flags.FLAGS) -> int:
    no_extra_args(argv)
    f = flag_values
    return run(model_dir=f.model_dir, saved_model=f.saved_model, checkpoint=f.checkpoint, data=f.data,
               image_size=f.image_size, buckets=f.buckets, num_images=f.num_images, mask_dir=f.mask_dir,
               seed=f.seed, inception_weights=f.inception_weights, output_dir=f.output_dir,
               num_grid=f.num_grid, batch_size=f.batch_size, method_name=f.method_name,
               baselines=f.baselines, mode=f.mode, model=f.model)


if __name__ == "__main__":
    define_flags()
    app.run(main)
