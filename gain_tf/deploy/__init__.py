"""Deploying a trained GAIN beyond TensorFlow: TFLite and ONNX exports, self-checked against the SavedModel, and their runtimes.

* :mod:`gain_tf.deploy.convert`: :func:`export_model` converts a SavedModel or checkpoint to a
  ``.tflite`` (fixed size, built-in ops, float32 or float16 weights) or ``.onnx`` file (opset 17,
  dynamic N, H, W), checks it with its own runtime and only then renames it into place;
* :mod:`gain_tf.deploy.check`: the seeded check examples and the limits (:data:`LIMITS`);
* :mod:`gain_tf.deploy.runtime`: the TFLite and ONNX runtimes behind
  :class:`gain_tf.inference.Inpainter`; :func:`gain_tf.inference.load_model` takes a SavedModel
  folder, a ``.tflite`` or an ``.onnx`` file (docs/deploy.md).
"""
from gain_tf.deploy.check import LIMITS, ExportCheckError, check_examples, compare  # noqa: F401
from gain_tf.deploy.convert import (FORMATS, ONNX_OPSET, export_model, onnx_bytes,  # noqa: F401
                                    tflite_bytes)
from gain_tf.deploy.runtime import OnnxInpainter, TFLiteInpainter  # noqa: F401
