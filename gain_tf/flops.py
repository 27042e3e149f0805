"""Parameter and FLOP counts, measured on the traced graph (TensorFlow's profiler statistics).

FLOPs count multiply and add separately (a 3×3 convolution costs 2·9·C_in·C_out per output
pixel), as TensorFlow's registered op statistics do; ops without statistics (elementwise, resize)
are not counted, so the figure is the convolution / matmul work, which dominates.
"""
from __future__ import annotations

import tensorflow as tf


def graph_flops(fn, *input_specs) -> int:
    """FLOPs of one call of the ``tf.function``-able ``fn`` on inputs of ``input_specs``."""
    concrete = tf.function(fn).get_concrete_function(*input_specs)
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)  # noqa: WPS433 (only needed here)
    frozen = convert_variables_to_constants_v2(concrete)
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    info = tf.compat.v1.profiler.profile(graph=frozen.graph, options=opts)
    return int(info.total_float_ops)


def generator_flops(generator, height: int, width: int, batch: int = 1) -> int:
    """FLOPs of one generator forward pass on ``batch`` images of ``height``×``width``."""
    specs = [tf.TensorSpec((batch, height, width, 3)), tf.TensorSpec((batch, height, width, 1))]
    if generator.config.guidance == "edge":
        specs.append(tf.TensorSpec((batch, height, width, 1)))
    return graph_flops(lambda *args: generator(tuple(args))["composite"], *specs)


def count_params(model) -> int:
    """Number of trainable parameters."""
    return int(sum(int(tf.size(v)) for v in model.trainable_variables))
