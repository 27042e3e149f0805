"""TFLite and ONNX conversion of a GAIN serving function, each written atomically only after its self-check passes."""
from __future__ import annotations

import os
import time

import tensorflow as tf

from gain_tf.deploy.check import check_against, check_examples
from gain_tf.deploy.runtime import ONNX_CONFIG_KEY
from gain_tf.images import atomic_write_bytes
from gain_tf.inference import Inpainter, load_model
from gain_tf.serving import serving_specs

FORMATS = {"tflite": ".tflite", "onnx": ".onnx"}
ONNX_OPSET = 17
# tf2onnx's graph optimizers run here (README, "Deploy"): its default pipeline (transpose
# optimizer and friends, repeated to a fixed point, the graph deep-copied before each pass)
# took 3 of the 3.5 minutes of converting `tiny`; onnxruntime optimises the graph again when it
# loads it, so only these cheap passes are kept.
ONNX_OPTIMIZERS = ("fold_constants", "merge_duplication", "reshape_optimizer", "remove_identity",
                   "remove_back_to_back")


def _traced(inpainter: Inpainter, specs):
    """``inpainter``'s serving function (checkpoint or SavedModel) traced for ``specs``: a concrete
    function ``(image, mask) -> {'inpainted' uint8, 'gradient' float32}``."""
    fn = tf.function(lambda image, mask: dict(inpainter(image, mask)), input_signature=specs,
                     autograph=False)
    return fn.get_concrete_function()


def _io_names(concrete) -> tuple:
    """``(input tensor names, {output key: tensor name})`` of a traced serving function."""
    inputs = [t.name for t in concrete.inputs if t.dtype != tf.resource]
    outputs = {k: t.name for k, t in concrete.structured_outputs.items()}
    return inputs, outputs


def float32_means(graph_def):
    """Rewrites every float64 ``Mean`` of ``graph_def`` (in place) as cast to float32, ``Mean``,
    cast back: TFLite has no float64 reductions (:class:`gain_tf.layers.mask_shrink.MaskShrink`
    averages its guide's channels in float64). Returns the number of nodes rewritten."""
    f64, f32 = tf.float64.as_datatype_enum, tf.float32.as_datatype_enum

    def cast(name, source, src, dst):
        node = graph_def.node.add()
        node.name, node.op = name, "Cast"
        node.input.append(source)
        node.attr["SrcT"].type, node.attr["DstT"].type = src, dst
        node.attr["Truncate"].b = False
        return node

    count = 0
    for node in list(graph_def.node):
        if node.op == "Mean" and node.attr["T"].type == f64:
            name = node.name
            cast(name + "/to_float32", node.input[0], f64, f32)
            node.input[0] = name + "/to_float32"
            node.attr["T"].type = f32
            node.name = name + "/float32"
            cast(name, node.name, f32, f64)          # consumers keep reading `name`
            count += 1
    return count


def tflite_bytes(inpainter: Inpainter, image_size: int, float16: bool = False) -> bytes:
    """A TFLite flatbuffer of ``inpainter``'s serving function for 1 × ``image_size`` ×
    ``image_size`` inputs, TFLite built-in ops only; weights stored as float16 with ``float16``.

    Signature ``serving_default``: ``image`` uint8 [1,S,S,3], ``mask`` uint8 [1,S,S,1] ->
    ``inpainted`` uint8 [1,S,S,3], ``gradient`` float32 [1,S,S,C]. Raises ``RuntimeError`` with
    the converter's reason (e.g. the ops TFLite lacks) on one line.
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    specs = serving_specs(image_size, batch=1)
    concrete = _traced(inpainter, specs)
    inputs, outputs = _io_names(concrete)
    graph_def = convert_variables_to_constants_v2(concrete).graph.as_graph_def()
    float32_means(graph_def)
    keys = sorted(outputs)

    def serve(image, mask):             # the rewritten frozen graph, imported into a function
        got = tf.graph_util.import_graph_def(graph_def, input_map=dict(zip(inputs, (image, mask))),
                                             return_elements=[outputs[k] for k in keys], name="")
        return dict(zip(keys, got))

    module = tf.Module()                # a trackable owner gives the flatbuffer its signature
    module.serve = tf.function(serve, input_signature=specs, autograph=False)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.serve.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    try:
        return converter.convert()
    except Exception as e:  # ConverterError and friends: keep the reason, on one line
        lines = [ln.strip() for ln in str(e).splitlines() if "ops:" in ln or "error:" in ln]
        raise RuntimeError("TFLite conversion failed: " + (" / ".join(lines[-3:]) or
                                                           " ".join(str(e).split())[:300])) from None


def _require_onnx():
    try:
        import onnx  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as e:
        raise ImportError(f"ONNX export needs the [onnx] extra (pip install -e '.[onnx]'): {e}") from None


def standard_nearest_resizes(model) -> int:
    """Rewrites the ``Resize`` nodes of ``model`` (in place) that use the deprecated
    ``tf_half_pixel_for_nn`` coordinates (tf2onnx's TF nearest resize with half-pixel centres,
    onnxruntime warns on load) as ``half_pixel`` with ``round_prefer_ceil``: ``floor((x + 0.5) / s)``
    either way, since ``round_prefer_ceil(y - 0.5) = floor(y)``. Returns the count."""
    import onnx
    count = 0
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        mode = attrs.get("coordinate_transformation_mode")
        if node.op_type == "Resize" and mode is not None and mode.s == b"tf_half_pixel_for_nn":
            mode.s = b"half_pixel"
            if "nearest_mode" in attrs:
                attrs["nearest_mode"].s = b"round_prefer_ceil"
            else:
                node.attribute.append(onnx.helper.make_attribute("nearest_mode", "round_prefer_ceil"))
            count += 1
    return count


def onnx_bytes(inpainter: Inpainter, opset: int = ONNX_OPSET, optimizers=ONNX_OPTIMIZERS) -> bytes:
    """An ONNX model (``opset``) of ``inpainter``'s serving function through tf2onnx, with dynamic
    N, H and W: ``image`` uint8 [N,H,W,3], ``mask`` uint8 [N,H,W,1] -> ``inpainted`` uint8
    [N,H,W,3], ``gradient`` float32 [N,H,W,C]; the model's config JSON in the metadata
    (``gain_tf_config``). ``optimizers``: names of tf2onnx's graph optimizers to run."""
    _require_onnx()
    import logging

    import onnx
    from tf2onnx import optimizer, tf_loader, tfonnx

    logging.getLogger("tf2onnx").setLevel(logging.WARNING)   # its per-step INFO lines

    if opset < 17:
        raise ValueError(f"--onnx_opset must be 17 or newer, got {opset}")
    concrete = _traced(inpainter, serving_specs())
    inputs, outputs = _io_names(concrete)
    rename = dict(zip(inputs, ("image", "mask")))
    rename.update({name: key for key, name in outputs.items()})
    with tf.device("/cpu:0"):
        graph_def = tf_loader.from_function(concrete, inputs, list(outputs.values()))
        with tf.Graph().as_default() as graph:
            tf.import_graph_def(graph_def, name="")
            g = tfonnx.process_tf_graph(graph, opset=opset, input_names=inputs,
                                        output_names=list(outputs.values()),
                                        tensors_to_rename=rename)
        available = optimizer._get_optimizers()
        g = optimizer.optimize_graph(g, catch_errors=False,
                                     optimizers={k: available[k] for k in optimizers})
        model = g.make_model("gain_tf serving_default")
    standard_nearest_resizes(model)
    if inpainter.config is not None:
        onnx.helper.set_model_props(model, {ONNX_CONFIG_KEY: inpainter.config.to_json()})
    return model.SerializeToString()


def check_sizes(fmt: str, size: int) -> list:
    """``(N, H, W)`` of the self-check examples: three at the fixed size for TFLite; for ONNX
    (dynamic shapes) a batch of two at ``size`` and two odd sizes around it."""
    if fmt == "tflite":
        return [(1, size, size)] * 3
    return [(2, size, size), (1, size - 3, size + 5), (1, size + 7, size - 2)]


def export_model(inpainter: Inpainter, path: str, fmt: str, image_size=None,
                 float16: bool = False, opset: int = ONNX_OPSET) -> dict:
    """Converts ``inpainter`` (a SavedModel or checkpoint :class:`Inpainter`) to ``fmt``
    (``'tflite'`` or ``'onnx'``) at ``path``, checked before it replaces anything.

    The file is written to a temporary sibling, loaded from there with its own runtime
    (:mod:`gain_tf.deploy.runtime`) and compared with ``inpainter`` on seeded examples
    (:func:`check_sizes`, :func:`gain_tf.deploy.check.check_against`); only then renamed into
    place. ``image_size``: TFLite's fixed size (default: the config's training size) and the size
    of the check examples. Returns ``{'path', 'bytes', 'convert_seconds', 'check_seconds',
    'figures'}``; raises ``ValueError`` for a bad path or size and
    :class:`gain_tf.deploy.check.ExportCheckError` when the check fails (no file left behind).
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of saved_model, {', '.join(FORMATS)}; got {fmt!r}")
    if not path.endswith(FORMATS[fmt]):
        raise ValueError(f"{path}: a {fmt} export must be a file ending in {FORMATS[fmt]}")
    if float16 and fmt != "tflite":
        raise ValueError("--tflite_float16 applies to --format=tflite only")
    size = int(image_size or inpainter.training_size)
    multiple = inpainter.config.model.multiple if inpainter.config is not None else 8
    if size < multiple:
        raise ValueError(f"--image_size must be at least the model's multiple {multiple}, got {size}")
    start = time.perf_counter()
    data = tflite_bytes(inpainter, size, float16) if fmt == "tflite" else onnx_bytes(inpainter, opset)
    converted = time.perf_counter()
    path = os.path.abspath(path)
    figures = {}

    def check(tmp):  # the written file, loaded by its own runtime, before it replaces anything
        figures.update(check_against(inpainter, load_model(tmp),
                                     check_examples(check_sizes(fmt, size)),
                                     "float16" if float16 else "float32", path))

    atomic_write_bytes(path, data, check)
    return {"path": path, "bytes": len(data), "convert_seconds": converted - start,
            "check_seconds": time.perf_counter() - converted, "figures": figures}
