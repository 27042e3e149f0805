"""Parameter and FLOP counts, measured on the traced graph (TensorFlow's profiler statistics).

FLOPs count multiply and add separately (a 3×3 convolution costs 2·9·C_in·C_out per output
pixel), as TensorFlow's registered op statistics do; ops without statistics (resize, pooling) are
not counted, so the figure is essentially the convolution / matmul work, which dominates.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.ops import dilated


def graph_flops(fn, *input_specs, op_types=None) -> int:
    """FLOPs of one call of the ``tf.function``-able ``fn`` on inputs of ``input_specs``.

    ``op_types`` restricts the count to those op types (e.g. ``("Conv2D", "MatMul")``).
    """
    from tensorflow.python.framework import ops as tf_ops  # the op statistics registry
    with dilated.nominal():   # every tap of the dilated kernels, not the sub-grids' share
        graph = tf.function(fn, autograph=False).get_concrete_function(*input_specs).graph
    total = 0
    for op in graph.get_operations():
        if op_types is not None and op.type not in op_types:
            continue
        try:
            stats = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops")
        except (ValueError, TypeError):  # no statistics registered or shape unknown
            continue
        total += int(stats.value or 0)
    return total


def generator_flops(generator, height: int, width: int, batch: int = 1) -> int:
    """FLOPs of one generator forward pass on ``batch`` images of ``height``×``width``."""
    specs = [tf.TensorSpec(t.shape, t.dtype)
             for t in generator.example_inputs(height, width, batch)]
    return graph_flops(lambda *args: generator(tuple(args))["composite"], *specs)


def count_params(model) -> int:
    """Number of trainable parameters."""
    return int(sum(int(tf.size(v)) for v in model.trainable_variables))
