r"""Export a trained GAIN generator as a SavedModel, a TFLite or an ONNX model.

    python -m experiments.export --model_dir=runs/small --export_dir=export/gain_small
    python -m experiments.export --saved_model=export/gain_small --format=tflite \
        --output=export/gain_small.tflite [--image_size=256] [--tflite_float16]
    python -m experiments.export --saved_model=export/gain_small --format=onnx \
        --output=export/gain_small.onnx

The model comes from a training ``--model_dir`` (``config.json`` and the latest checkpoint in
``<model_dir>/checkpoints``, or ``--checkpoint``; only the generator is restored; run folders of
gain-tf 0.1 export too) or from a SavedModel (``--saved_model``, for TFLite and ONNX).

``--format=saved_model`` (default) writes ``--export_dir``. Its ``serving_default`` signature
takes ``image`` (uint8 ``[N,H,W,3]``) and ``mask`` (uint8 ``[N,H,W,1]``, non-zero = hole), any H
and W, and returns ``inpainted`` (uint8 ``[N,H,W,3]``, known pixels unchanged) and ``gradient``
(float32, the predicted gradient map ``[N,H,W,2]``; the edge map ``[N,H,W,1]`` for
``guidance='edge'``, whose Canny input is computed in the graph; zeros ``[N,H,W,2]`` for
``guidance='none'``). It loads with plain ``tf.saved_model.load`` (no gain_tf needed)::

    m = tf.saved_model.load("export/gain_small")
    out = m.signatures["serving_default"](image=images_uint8, mask=holes_uint8)

``--format=tflite`` writes ``--output`` (``.tflite``): the same signature with a fixed input
size, ``1 × S × S`` with S = ``--image_size`` (default: the model's training size,
``config.data.image_size``: 64 for the demo model; 256 for a SavedModel without a config), TFLite
built-in ops only; ``--tflite_float16`` stores the weights as float16 (half the file).
``--format=onnx`` writes ``--output`` (``.onnx``, opset ``--onnx_opset``, dynamic N, H and W;
needs the ``[onnx]`` extra). Both keep both outputs; ``fill_order`` is SavedModel-only.

Every export is written to a temporary name, reloaded with its own runtime (TFLite: its built-in
kernels) and checked against TensorFlow (the in-memory model for a SavedModel; the SavedModel or
the checkpoint's model for TFLite and ONNX) on seeded examples, then renamed into place; a failed
check is one error line and leaves nothing behind (README, "Deploy", for the limits).
"""
from __future__ import annotations

import re
import sys

from absl import app, flags

import experiments
from experiments import define_model_flags, no_extra_args, stderr_filtered

FORMATS = ("saved_model", "tflite", "onnx")


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines this tool's flags (called by ``__main__``; tests pass their own ``FlagValues``)."""
    fv = flag_values
    define_model_flags(fv, "Or a SavedModel to convert (tflite, onnx).")
    flags.adopt_module_key_flags(experiments, flag_values=fv)   # listed by --help too
    flags.DEFINE_enum("format", "saved_model", FORMATS, "What to write.", flag_values=fv)
    flags.DEFINE_string("export_dir", None, "--format=saved_model: the folder (replaced if it exists).",
                        flag_values=fv)
    flags.DEFINE_string("output", None, "--format=tflite|onnx: the file (replaced if it exists).",
                        flag_values=fv)
    flags.DEFINE_integer("image_size", None, "TFLite's fixed input size and the self-checks' "
                         "(default: the config's training size).", flag_values=fv)
    flags.DEFINE_bool("tflite_float16", False, "TFLite: float16 weights.", flag_values=fv)
    flags.DEFINE_integer("onnx_opset", 17, "ONNX opset (17 or newer).", flag_values=fv)


def _error(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 1


def _usage(model_dir, saved_model, fmt, export_dir, output, checkpoint, float16):
    """The one-line usage error of a flag combination, or None."""
    if bool(model_dir) == bool(saved_model):
        return "give exactly one of --model_dir or --saved_model"
    if checkpoint and not model_dir:
        return "--checkpoint needs --model_dir"
    if fmt == "saved_model":
        if saved_model:
            return "--saved_model is a SavedModel already: use --format=tflite or --format=onnx"
        if not export_dir or output:
            return "--format=saved_model writes --export_dir (not --output)"
    elif not output or export_dir:
        return f"--format={fmt} writes --output (a .{fmt} file, not --export_dir)"
    elif not output.endswith(f".{fmt}"):
        return f"{output}: a {fmt} export must be a file ending in .{fmt}"
    if float16 and fmt != "tflite":
        return "--tflite_float16 needs --format=tflite"
    return None


# What the TFLite converter prints on success: its summary of the ops left to TFLite's constant
# folding (arith.constant, not a failure: the export is checked against TensorFlow anyway), with
# one "(f32: N)" line per location, and TensorFlow's notes on the temporary SavedModel it saves.
_CONVERTER_NOISE = re.compile(
    rb"^(Summary on the non-converted ops:|-{10,}$| \* (Accepted dialects|Non-Converted Ops|\d+ ARITH "
    rb"ops)|- arith\.constant:|\s*\((\w+: \d+(, )?)+\)\s*$|\s*$)"
    rb"|\] (Assets written to|Writing fingerprint to)\b")


def run(model_dir=None, export_dir=None, checkpoint=None, saved_model=None, format="saved_model",
        output=None, image_size=None, tflite_float16=False, onnx_opset=17) -> int:
    """The tool: returns the exit code (0, or 1 after printing one error line to stderr)."""
    fmt = format
    usage = _usage(model_dir, saved_model, fmt, export_dir, output, checkpoint, tflite_float16)
    if usage:
        return _error(usage)
    from gain_tf.inference import Inpainter, load_generator, load_saved_model
    try:
        if fmt == "saved_model":
            from gain_tf.export import export_saved_model
            generator = load_generator(model_dir, checkpoint)
            path = export_saved_model(generator, export_dir)
            print(f"exported {generator.checkpoint_path} to {path}")
            return 0
        from gain_tf.deploy import export_model
        source = (load_saved_model(saved_model) if saved_model
                  else Inpainter.from_generator(load_generator(model_dir, checkpoint)))
        with stderr_filtered(_CONVERTER_NOISE):
            result = export_model(source, output, fmt, image_size=image_size,
                                  float16=tflite_float16, opset=onnx_opset)
    except (FileNotFoundError, ValueError, RuntimeError, ImportError) as e:  # ExportCheckError too
        return _error(str(e))
    f = result["figures"]
    print(f"exported {source.source} to {result['path']} ({fmt}"
          f"{', float16 weights' if tflite_float16 else ''}, {result['bytes'] / 1e6:.1f} MB; "
          f"converted in {result['convert_seconds']:.1f} s); checked against TensorFlow on "
          f"{f['examples']} seeded examples: known pixels bit-exact, hole max |diff| "
          f"{f['max_diff']:g}, mean {f['mean_diff']:.3f} grey levels, PSNR {f['psnr_db']:.1f} dB")
    return 0


def main(argv, flag_values=flags.FLAGS) -> int:
    no_extra_args(argv)
    f = flag_values
    return run(model_dir=f.model_dir, export_dir=f.export_dir, checkpoint=f.checkpoint,
               saved_model=f.saved_model, format=f.format, output=f.output,
               image_size=f.image_size, tflite_float16=f.tflite_float16, onnx_opset=f.onnx_opset)


if __name__ == "__main__":
    define_flags()
    app.run(main)
