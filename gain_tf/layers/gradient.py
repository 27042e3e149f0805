"""The gradient operator, in one place: image gradients, G's input gradient, and GradientFilter.

The operator (docs/design.md, "Deviations and choices") is a 3×3 Sobel filter divided by 8, so a unit ramp
has gradient 1. It is used on grayscale images (:func:`image_gradient`), on G's input
(:func:`gradient_input`) and on every channel of a feature map (:class:`GradientFilter`).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

# d/dx (columns) and d/dy (rows), Sobel / 8.
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32) / 8.0
SOBEL_Y = SOBEL_X.T.copy()
GRAY_WEIGHTS = (0.299, 0.587, 0.114)


def rgb_to_gray(images):
    """``[B, H, W, 3]`` -> ``[B, H, W, 1]`` with ``0.299 R + 0.587 G + 0.114 B``."""
    w = tf.constant(GRAY_WEIGHTS, dtype=images.dtype)
    return tf.reduce_sum(images * w, axis=-1, keepdims=True)


def sobel(x, padding="SYMMETRIC", dilation=1):
    """Finite differences of every channel: ``[B,H,W,C]`` -> ``[B,H,W,2C]`` = ``[∂x (C), ∂y (C)]``.

    ``padding`` is a ``tf.pad`` mode for the border ('SYMMETRIC' or 'CONSTANT'); ``dilation``
    spaces the taps ``dilation`` pixels apart (the values are still divided by 8, not by 8·d).
    """
    c = x.shape[-1]
    d = int(dilation)
    kx = tf.constant(np.tile(SOBEL_X[:, :, None, None], (1, 1, c, 1)), dtype=x.dtype)
    ky = tf.constant(np.tile(SOBEL_Y[:, :, None, None], (1, 1, c, 1)), dtype=x.dtype)
    xp = tf.pad(x, [[0, 0], [d, d], [d, d], [0, 0]], mode=padding)
    dx = tf.nn.depthwise_conv2d(xp, kx, [1, 1, 1, 1], "VALID", dilations=[d, d])
    dy = tf.nn.depthwise_conv2d(xp, ky, [1, 1, 1, 1], "VALID", dilations=[d, d])
    return tf.concat([dx, dy], axis=-1)


def image_gradient(images):
    """``∇I``: RGB images ``[B,H,W,3]`` -> ``[B,H,W,2]`` = ``(∂x, ∂y)`` of the grayscale image.

    Symmetric padding at the image border.
    """
    return sobel(rgb_to_gray(images))


def gradient_magnitude(gradient):
    """``sqrt(∂x² + ∂y²)`` of a ``[..., 2]`` gradient map -> ``[..., 1]`` (for pictures)."""
    return tf.sqrt(tf.reduce_sum(tf.square(gradient), axis=-1, keepdims=True))


def erode(valid):
    """3×3 erosion of a ``[B,H,W,1]`` mask; positions outside the image count as holes."""
    padded = tf.pad(valid, [[0, 0], [1, 1], [1, 1], [0, 0]])
    return -tf.nn.max_pool2d(-padded, 3, 1, "VALID")


def masked_mean_fill(x, valid, size=3):
    """Mean of the valid neighbours in a ``size``×``size`` window: ``Σ_w(x⊙M) / Σ_w(M)``, 0 if none."""
    num = tf.nn.avg_pool2d(x * valid, size, 1, "SAME")
    den = tf.nn.avg_pool2d(valid, size, 1, "SAME")
    return tf.math.divide_no_nan(num, den)


def known_gradient(x, valid):
    """Sobel gradient of a map from known pixels only, its 1-px inner ring filled from neighbours.

    ``[B,H,W,C]``, valid ``[B,H,W,1]`` -> ``[B,H,W,2C]``: ``M0 = erode(M)``; ``g0 = ∇(x⊙M) ⊙ M0``
    uses no hole pixel; the ring ``M ∧ ¬M0`` gets the mean of ``g0`` over its ``M0`` neighbours in a
    3×3 window (0 where there is none); holes get 0.
    """
    m0 = erode(valid)
    g0 = sobel(x * valid) * m0
    return g0 + masked_mean_fill(g0, m0) * (valid - m0)


def gradient_input(images, valid):
    """G's input gradient ``∇I1`` from images ``[B,H,W,3]`` and valid ``[B,H,W,1]`` -> ``[B,H,W,2]``.

    :func:`known_gradient` of the grayscale image: ``∇I0 = ∇I ⊙ erode(M)`` uses no pixel of a
    hole, and ``∇I1`` fills the ring with the mean of its valid neighbours. Does not depend on
    hole pixels of ``images``.
    """
    valid = tf.stop_gradient(tf.cast(valid, images.dtype))
    return known_gradient(rgb_to_gray(images), valid)


@tf.keras.utils.register_keras_serializable(package="gain_tf")
class GradientFilter(tf.keras.layers.Layer):
    """Gradient of a feature map: ``dx, valid_e = GradientFilter()((x, valid))``.

    ``Grad(X, M) = (∇X, M_e)``: the Sobel/8 x and y differences of every channel, valid only where
    the whole 3×3 window was valid (``M_e`` = 3×3 erosion of ``M``, outside = hole); 0 elsewhere.

    Input: ``(x [B,H,W,C], valid [B,H,W,1])``.
    Output: ``(∇x [B,H,W,2C]`` ordered ``[∂x of all C channels, ∂y of all C channels]``,
      ``valid_e [B,H,W,1])``.
    """

    def call(self, inputs):
        x, valid = inputs
        valid = tf.stop_gradient(tf.cast(valid, x.dtype))
        valid_e = erode(valid)
        return sobel(x, padding="CONSTANT") * valid_e, valid_e
