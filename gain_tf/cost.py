"""What one training step costs, counted on the traced graph of :meth:`GANStep.compute`.

``compute`` takes its tapes' gradients itself, so its traced graph holds every op of the step as
an explicit op: the generator forward, the three calls of each discriminator (real, composite,
gradient-penalty interpolate), the penalty's ∇ₓD, the backward pass and the penalty's double
backward. Ops that feed none of the step's outputs (gradients a tape builds but nobody uses, such
as the discriminators' kernel gradients on the generator's tape) are dropped first, as
TensorFlow's runtime prunes them. Ops created up to the two losses are the *forward*, the rest
the *backward*; ``gradient_tape/gradient_tape/*`` ops of the backward are the double backward.

FLOPs: each convolution (forward, input and kernel gradient, depthwise) and matrix product is
counted from its shapes as 2 · output elements · reduction length (multiply and add separately,
as TensorFlow's statistics and docs/scale.md); elementwise ops are not counted.

Memory, in the dtypes of the trace (trace under ``mixed_float16`` for 16-bit figures): the ops
are replayed in creation order (a valid schedule); a tensor lives from its op to its last
consumer, views (Identity, Reshape, …) share their input's buffer, and weights, constants and the
returned gradients are left out (they are :func:`fixed_bytes`). ``saved_bytes`` is what is live
when the backward starts (the forward tensors the backward keeps), ``peak_bytes`` the maximum.
TensorFlow's own schedule, Grappler's rewrites and XLA may differ from this replay.

Dilated convolutions are traced as TensorFlow's own (:func:`gain_tf.ops.dilated.nominal`): every
tap counts, as the model defines it, though the sub-grids skip taps that never land in the map.
"""
from __future__ import annotations

import dataclasses
from typing import Dict

import numpy as np
import tensorflow as tf

from gain_tf.ops import dilated

ALIAS_OPS = {"Identity", "StopGradient", "Reshape", "ExpandDims", "Squeeze", "Snapshot"}
NOT_ACTIVATIONS = {"Const", "ReadVariableOp", "VarHandleOp", "Placeholder"}
PARTS = ("generator forward", "discriminators forward (real, fake, interpolate)",
         "gradient penalty: grad_x D (first order)", "other forward", "backward",
         "gradient penalty: double backward")


def _n(shape) -> int:
    return int(np.prod(shape.as_list(), dtype=np.int64))


def op_flops(op) -> int:
    """Multiply-adds × 2 of a convolution or matrix product; 0 for any other op."""
    t, ins, out = op.type, op.inputs, op.outputs[0].shape if op.outputs else None
    if t == "Conv2D":                                    # 2 · out · kh·kw·C_in
        kh, kw, cin, _ = ins[1].shape.as_list()
        return 2 * _n(out) * kh * kw * cin
    if t in ("Conv2DBackpropInput", "Conv2DBackpropFilter"):  # as the forward conv
        kh, kw, cin, _ = (ins[1].shape if t == "Conv2DBackpropInput" else out).as_list()
        return 2 * _n(ins[2].shape) * kh * kw * cin
    if t == "DepthwiseConv2dNative":
        kh, kw = ins[1].shape.as_list()[:2]
        return 2 * _n(out) * kh * kw
    if t in ("DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"):
        kh, kw = (ins[1].shape if t.endswith("Input") else out).as_list()[:2]
        return 2 * _n(ins[2].shape) * kh * kw
    if t == "MatMul":
        k = ins[0].shape[0 if op.get_attr("transpose_a") else 1]
        return 2 * _n(out) * k
    if t in ("BatchMatMulV2", "BatchMatMulV3"):
        k = ins[0].shape[-2 if op.get_attr("adj_x") else -1]
        return 2 * _n(out) * k
    return 0


@dataclasses.dataclass
class StepCost:
    """FLOPs per part (:data:`PARTS`) and activation bytes of one step at ``batch``."""

    batch: int
    flops: Dict[str, int]
    tf_generator_flops: int   # generator forward, all ops with TensorFlow statistics (--dry_run)
    saved_bytes: int          # live when the backward starts, in the traced dtypes
    peak_bytes: int

    @property
    def total_flops(self) -> int:
        return sum(self.flops.values())

    @property
    def forward_flops(self) -> int:
        return sum(v for k, v in self.flops.items() if "backward" not in k)


def _producer(t):
    while t.op.type == "Identity":
        t = t.op.inputs[0]
    return t.op


def step_cost(gan_step, batch_spec) -> StepCost:
    """Traces ``gan_step.compute`` on ``batch_spec`` (builds the models if needed) and counts."""
    from tensorflow.python.framework import ops as tf_ops  # the op statistics registry
    with dilated.nominal():   # every tap of the dilated kernels, not the sub-grids' share
        fn = tf.function(gan_step.compute, autograph=False).get_concrete_function(batch_spec)
    graph, metrics = fn.graph, fn.structured_outputs[2]
    live, stack = set(), [t.op for t in graph.outputs] + list(graph.control_outputs)
    while stack:                                          # what the step really runs
        op = stack.pop()
        if op not in live:
            live.add(op)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    ops = [op for op in graph.get_operations() if op in live]      # in creation order
    index = {op: i for i, op in enumerate(ops)}
    boundary = max(index[_producer(metrics[k])] for k in ("d_total", "g_total"))

    g_name = gan_step.generator.name + "/"
    d_names = tuple(d.name + "/" for d in gan_step.discriminators)
    flops = dict.fromkeys(PARTS, 0)
    tf_gen = 0
    for op in ops:
        name = op.name
        if index[op] > boundary:
            part = PARTS[5] if name.startswith("gradient_tape/gradient_tape/") else PARTS[4]
        elif name.startswith("gradient_tape/"):
            part = PARTS[2]
        elif name.startswith(g_name):
            part = PARTS[0]
            try:
                tf_gen += int(tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value or 0)
            except (ValueError, TypeError):               # no statistics registered
                pass
        else:
            part = PARTS[1] if name.startswith(d_names) else PARTS[3]
        flops[part] += op_flops(op)

    # ---- activation memory: replay in creation order
    outputs = {_producer(t) for t in graph.outputs}
    root, size, start, last = {}, {}, {}, {}
    for i, op in enumerate(ops):
        for t in op.inputs:
            last[root.get(t.ref(), t.ref())] = i
        for t in op.outputs:
            if op.type in ALIAS_OPS:
                root[t.ref()] = root.get(op.inputs[0].ref(), op.inputs[0].ref())
            elif op.type not in NOT_ACTIVATIONS and op not in outputs and t.dtype != tf.resource:
                size[t.ref()], start[t.ref()] = _n(t.shape) * t.dtype.size, i
    saved = sum(b for r, b in size.items() if start[r] <= boundary < last.get(r, -1))
    made, freed = np.zeros(len(ops), np.int64), np.zeros(len(ops), np.int64)
    for r, b in size.items():
        made[start[r]] += b
        freed[last.get(r, start[r])] += b
    live_bytes = np.cumsum(made) - np.cumsum(freed) + freed   # while op i runs

    return StepCost(
        batch=int(batch_spec["image"].shape[0]), flops=flops, tf_generator_flops=tf_gen,
        saved_bytes=int(saved), peak_bytes=int(live_bytes.max()))


def fixed_bytes(n_params: int) -> int:
    """Weights, their gradients and Adam's two slots, all float32 (as under mixed_float16 too)."""
    return 16 * n_params
