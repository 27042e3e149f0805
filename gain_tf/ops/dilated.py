"""'SAME' convolutions with dilation, computed on the dilation's sub-grids.

TensorFlow runs a dilated convolution as ``SpaceToBatchND → VALID Conv2D → BatchToSpaceND``, and it
pads the *input* by the full dilated reach first: a 3×3 kernel at dilation 16 on a 32×32 map is
padded to 64×64 and split into 256 sub-grids of 4×4, of which a VALID 3×3 keeps 2×2. This module
pads the map only up to a multiple of the dilation (with zeros), splits it into sub-grids, runs the
*undilated* convolution with 'SAME' padding on each, and merges them back::

    conv_d(x)[i, j] = Σ_{a,b} k[a, b] x[i + (a - r) d, j + (b - r) d]          (zero outside)
                    = SAME-conv(x restricted to the sub-grid (i mod d, j mod d))

so it is the same sum (taps that fall outside the map read zeros either way). Kernel taps that can
never land inside the map (offset ``|(a - r) d| >= H``) are dropped first, so a 3×3 kernel at
dilation 16 on a 16×16 map is the 1×1 convolution by its centre tap, with no sub-grids at all.

Exact for odd kernels at stride 1 on a map of known height and width; anything else goes to
``tf.nn.convolution`` unchanged. (A serving graph traced for any size keeps TensorFlow's pattern,
which tf2onnx rewrites into one dilated ONNX Conv.)
Outputs and gradients agree with TensorFlow's within float32 rounding: their sums run in
another order (the forward was bit-identical on one CPU of ours, not on another).
``SUBGRIDS = False`` restores TensorFlow's path everywhere (``benchmarks/bench_model.py
--block=old`` times the two against each other); :func:`nominal` does so for one trace.
"""
from __future__ import annotations

import contextlib

import tensorflow as tf

SUBGRIDS = True


@contextlib.contextmanager
def nominal():
    """Graphs traced inside run TensorFlow's own dilated convolutions: every tap of every kernel,
    the work the model defines (what :mod:`gain_tf.flops` and :mod:`gain_tf.cost` count)."""
    global SUBGRIDS
    saved, SUBGRIDS = SUBGRIDS, False
    try:
        yield
    finally:
        SUBGRIDS = saved


def _live_radius(radius, dilation, size):
    """How many taps on each side of the centre can land inside a map of ``size``."""
    return min(radius, (size - 1) // dilation)


def conv2d_same(x, kernel, strides=(1, 1), dilations=(1, 1), depthwise=False):
    """``tf.nn.convolution(x, kernel, strides, 'SAME', dilations)`` (``depthwise_conv2d`` if
    ``depthwise``), with dilated stride-1 odd kernels run on the sub-grids (module docstring).

    Args:
      x: ``[B, H, W, C]``.
      kernel: ``[kh, kw, C, O]`` (``[kh, kw, C, multiplier]`` if depthwise).
      strides, dilations: pairs.
    Returns: ``[B, H', W', O]`` (``C * multiplier`` channels if depthwise), ``H' = ceil(H / s)``.
    """
    kh, kw = kernel.shape[0], kernel.shape[1]
    dh, dw = dilations
    h, w = x.shape[1], x.shape[2]
    if (not SUBGRIDS or tuple(strides) != (1, 1) or (dh, dw) == (1, 1) or kh % 2 == 0
            or kw % 2 == 0 or h is None or w is None):
        if depthwise:
            return tf.nn.depthwise_conv2d(x, kernel, (1,) + tuple(strides) + (1,), "SAME",
                                          dilations=dilations)
        return tf.nn.convolution(x, kernel, strides=strides, padding="SAME", dilations=dilations)
    rh, rw = _live_radius(kh // 2, dh, h), _live_radius(kw // 2, dw, w)
    kernel = kernel[kh // 2 - rh:kh // 2 + rh + 1, kw // 2 - rw:kw // 2 + rw + 1]
    block = [dh if rh else 1, dw if rw else 1]

    def conv(t):
        if depthwise:
            return tf.nn.depthwise_conv2d(t, kernel, (1, 1, 1, 1), "SAME")
        return tf.nn.conv2d(t, kernel, 1, "SAME")

    if block == [1, 1]:
        return conv(x)
    pad = [[0, -h % block[0]], [0, -w % block[1]]]
    return tf.batch_to_space(conv(tf.space_to_batch(x, block, pad)), block, pad)
