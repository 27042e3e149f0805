"""Gradient-guided mask-shrinkage priority (GAIN, first four dilation blocks of branch 1).

The ordinary partial-convolution update admits every hole pixel that touches the known region.
GAIN admits only the border pixels with high priority, following Criminisi et al.'s exemplar
priority (the paper's formula image is lost; GAIN_SPEC.md "Mask-shrinkage priority")::

    B    = M_std ∧ ¬M                             # hole border the ordinary update would admit
    P_x  = C_x · |n_x · ∇I⊥_x|  on B, 0 elsewhere
    C_x  = sum(M_window(x)) / window size          # from the partial convolution
    n_x  = ∇(box3×3(M)) / |∇(box3×3(M))|           # unit normal of the mask border
    ∇I⊥  = (−g_y, g_x),  g = (mean of the x half, mean of the y half) of the gradient stream,
           taken at x as the mean over its known 3×3 neighbours (the stream is 0 on holes)
    M_new = M ∨ (B ∧ P ≥ δ · P_max)                # P_max per sample

δ = 0, or a sample whose P_max is 0, gives exactly the ordinary update. Masks carry no gradient.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.layers.gradient import masked_mean_fill, sobel


@tf.keras.utils.register_keras_serializable(package="gain_tf")
class MaskShrink(tf.keras.layers.Layer):
    """Restricts a partial convolution's mask update to high-priority border pixels.

    Used as a mask-update hook: ``PartialConv2D(..., mask_update=MaskShrink(0.4))`` or
    ``GAIBlock(..., mask_shrink=MaskShrink(0.4))``.

    Args:
      delta: admission threshold δ relative to the per-sample maximum priority (0 = ordinary update).

    Input: ``(valid, standard_update, window_fraction, guide)``, the first three ``[B,H,W,1]``
      (stride-1 geometry, so all at one resolution) and ``guide`` the gradient stream
      ``[B,H,W,2K]`` whose first K channels are x-like and last K y-like.
    Output: the new valid mask ``[B,H,W,1]``, between ``valid`` and ``standard_update``.
      :meth:`priority` returns the priority map ``P`` ``[B,H,W,1]`` for pictures and tests.
    """

    def __init__(self, delta=0.4, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(delta) <= 1.0:
            raise ValueError(f"MaskShrink: delta must be in [0, 1], got {delta}")
        self.delta = float(delta)

    def priority(self, inputs):
        valid, standard, fraction, guide = inputs
        valid = tf.stop_gradient(tf.cast(valid, guide.dtype))
        border = tf.cast(standard, guide.dtype) * (1.0 - valid)
        box = tf.nn.avg_pool2d(tf.pad(valid, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 1, "VALID")
        normal = sobel(box, padding="SYMMETRIC")
        normal = normal * tf.math.rsqrt(tf.maximum(tf.reduce_sum(normal * normal, -1, keepdims=True),
                                                   tf.cast(1e-12, normal.dtype)))
        half = guide.shape[-1] // 2
        g = tf.concat([tf.reduce_mean(guide[..., :half], -1, keepdims=True),
                       tf.reduce_mean(guide[..., half:], -1, keepdims=True)], axis=-1)
        g = masked_mean_fill(tf.stop_gradient(g), valid)
        # n · ∇I⊥ with ∇I⊥ = (−g_y, g_x)
        dot = normal[..., 0:1] * (-g[..., 1:2]) + normal[..., 1:2] * g[..., 0:1]
        return tf.stop_gradient(tf.cast(fraction, guide.dtype) * tf.abs(dot) * border)

    def call(self, inputs):
        valid, standard = inputs[0], inputs[1]
        p = self.priority(inputs)
        p_max = tf.reduce_max(p, axis=[1, 2, 3], keepdims=True)
        admitted = tf.cast(p >= tf.cast(self.delta, p.dtype) * p_max, p.dtype)
        border = tf.cast(standard, p.dtype) * (1.0 - tf.cast(valid, p.dtype))
        return tf.stop_gradient(tf.maximum(tf.cast(valid, p.dtype), border * admitted))

    def get_config(self):
        config = super().get_config()
        config.update(delta=self.delta)
        return config
