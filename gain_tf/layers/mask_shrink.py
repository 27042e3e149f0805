"""Gradient-guided mask-shrinkage priority (GAIN, first four dilation blocks of branch 1).

The ordinary partial-convolution update admits every hole pixel whose window touches the known
region. GAIN admits only the border pixels with high priority, following Criminisi et al.'s
exemplar priority (the paper's formula image is lost; docs/design.md, "Deviations and choices"). For a
priority conv with a 3×3 window at dilation ``d``::

    B    = M_std ∧ ¬M                              # hole border the ordinary update would admit
    C_x  = sum(M over x's dilated window) / 9       # share of known taps (the conv's own window)
    n_x  = Sobel_d(C) / |Sobel_d(C)|               # unit normal of the border; Sobel taps at ±d
    S    = channel-wise mean of the block's input gradient stream       (one map)
    s    = Sobel(S) on known pixels only (M eroded), 1-px ring filled as ∇I1 is
    g_x  = mean of s over the known taps of x's dilated window
    ∇I⊥  = (−g_y, g_x)                              # not normalised: its length is edge strength
    P_x  = C_x · |n_x · ∇I⊥_x|  on B, 0 elsewhere
    M_new = M ∨ (B ∧ P ≥ δ · P_max)                 # P_max per sample

Everything is computed in float32 whatever the compute dtype, so mixed precision admits the same
pixels. δ = 0, or a sample whose P_max is 0, gives exactly the ordinary update; the new mask lies
between M and M_std; masks carry no gradient; P does not depend on the order of the stream's
channels. Positions outside the image count as holes, as in the partial convolution.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.layers.gradient import known_gradient, sobel
from gain_tf.ops.dilated import conv2d_same


def window_sum(x, dilation):
    """Sum over each pixel's 3×3 window at ``dilation`` (zero outside), channel by channel."""
    ones = tf.ones((3, 3, x.shape[-1], 1), x.dtype)
    return conv2d_same(x, ones, dilations=(dilation, dilation), depthwise=True)


@tf.keras.utils.register_keras_serializable(package="gain_tf")
class MaskShrink(tf.keras.layers.Layer):
    """Restricts a partial convolution's mask update to high-priority border pixels.

    Used as a mask-update hook: ``PartialConv2D(..., dilation_rate=d,
    mask_update=MaskShrink(0.4, dilation_rate=d))`` or ``GAIBlock(..., mask_shrink=...)``.
    Runs in float32 (its dtype policy) whatever the model's policy.

    Args:
      delta: admission threshold δ relative to the per-sample maximum priority (0 = ordinary update).
      dilation_rate: dilation of the 3×3 conv whose mask update this restricts.

    Input: ``(valid, standard_update, window_fraction, guide)``, the first three ``[B,H,W,1]``
      (stride-1 geometry, so all at one resolution; ``window_fraction`` = C) and ``guide`` the
      block's input gradient stream ``[B,H,W,K]`` (0 on holes).
    Output: the new valid mask ``[B,H,W,1]`` (float32), between ``valid`` and ``standard_update``.
      :meth:`priority` returns the priority map ``P`` ``[B,H,W,1]`` for pictures and tests.
    """

    def __init__(self, delta=0.4, dilation_rate=1, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        if not 0.0 <= float(delta) <= 1.0:
            raise ValueError(f"MaskShrink: delta must be in [0, 1], got {delta}")
        if int(dilation_rate) != dilation_rate or int(dilation_rate) < 1:
            raise ValueError(f"MaskShrink: dilation_rate must be a positive integer, "
                             f"got {dilation_rate}")
        self.delta = float(delta)
        self.dilation_rate = int(dilation_rate)

    def normal(self, valid):
        """Unit normal ``n`` ``[B,H,W,2]`` of the mask border (0 where the window sees no change)."""
        d = self.dilation_rate
        # C on the image grown by d (outside: holes), so every Sobel tap at ±d reads a true C.
        grown = window_sum(tf.pad(valid, [[0, 0], [d, d], [d, d], [0, 0]]), d) / 9.0
        n = sobel(grown, padding="CONSTANT", dilation=d)[:, d:-d, d:-d, :]
        length = tf.sqrt(tf.reduce_sum(n * n, -1, keepdims=True))
        return tf.math.divide_no_nan(n, length)

    def priority(self, inputs):
        valid, standard, fraction, guide = (tf.stop_gradient(tf.cast(t, tf.float32))
                                            for t in inputs)
        border = standard * (1.0 - valid)
        # S accumulated in float64, so it does not depend on the order of the channels.
        mean = tf.reduce_mean(tf.cast(guide, tf.float64), -1, keepdims=True)
        s = known_gradient(tf.cast(mean, tf.float32), valid)                    # [B,H,W,2]
        g = tf.math.divide_no_nan(window_sum(s * valid, self.dilation_rate),
                                  window_sum(valid, self.dilation_rate))
        n = self.normal(valid)
        dot = n[..., 0:1] * (-g[..., 1:2]) + n[..., 1:2] * g[..., 0:1]      # n · (−g_y, g_x)
        return fraction * tf.abs(dot) * border

    def call(self, inputs):
        valid, standard = (tf.stop_gradient(tf.cast(t, tf.float32)) for t in inputs[:2])
        p = self.priority(inputs)
        p_max = tf.reduce_max(p, axis=[1, 2, 3], keepdims=True)
        admitted = tf.cast(p >= self.delta * p_max, tf.float32)
        return tf.maximum(valid, standard * (1.0 - valid) * admitted)

    def get_config(self):
        config = super().get_config()
        config.update(delta=self.delta, dilation_rate=self.dilation_rate)
        return config

