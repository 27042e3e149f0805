r"""Export a trained GAIN generator as a SavedModel.

    python -m experiments.export --model_dir=runs/small --export_dir=export/gain_small

Reads ``<model_dir>/config.json`` and restores only the generator from the latest checkpoint in
``<model_dir>/checkpoints`` (or ``--checkpoint``). The SavedModel's ``serving_default`` signature
takes ``image`` (uint8 ``[N,H,W,3]``) and ``mask`` (uint8 ``[N,H,W,1]``, non-zero = hole), any H
and W, and returns ``inpainted`` (uint8 ``[N,H,W,3]``, known pixels unchanged) and ``gradient``
(float32, the predicted gradient map ``[N,H,W,2]``; the edge map ``[N,H,W,1]`` for
``guidance='edge'``, whose Canny input is computed in the graph; zeros ``[N,H,W,2]`` for
``guidance='none'``). It loads with plain ``tf.saved_model.load`` (no gain_tf needed)::

    m = tf.saved_model.load("export/gain_small")
    out = m.signatures["serving_default"](image=images_uint8, mask=holes_uint8)

The export is written to a temporary folder, reloaded and checked against the in-memory model,
then renamed into place. Run folders of gain-tf 0.1 (a flat ``config.json``) export too.
"""
from __future__ import annotations

import sys

from absl import app, flags


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines this tool's flags (called by ``__main__``; tests pass their own ``FlagValues``)."""
    flags.DEFINE_string("model_dir", None, "Training model_dir (config.json + checkpoints/).",
                        flag_values=flag_values)
    flags.DEFINE_string("checkpoint", None, "Checkpoint prefix (default: latest in --model_dir).",
                        flag_values=flag_values)
    flags.DEFINE_string("export_dir", None, "Where the SavedModel goes (replaced if it exists).",
                        flag_values=flag_values)


def run(model_dir, export_dir, checkpoint=None) -> int:
    if not model_dir or not export_dir:
        print("error: --model_dir and --export_dir are required", file=sys.stderr)
        return 1
    from gain_tf.export import export_saved_model
    from gain_tf.inference import load_generator
    try:
        generator = load_generator(model_dir, checkpoint)
        path = export_saved_model(generator, export_dir)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"exported {generator.checkpoint_path} to {path}")
    return 0


def main(argv, flag_values=flags.FLAGS) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    return run(flag_values.model_dir, flag_values.export_dir, flag_values.checkpoint)


if __name__ == "__main__":
    define_flags()
    app.run(main)
