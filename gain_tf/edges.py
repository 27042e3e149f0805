"""Binary Canny edge maps: the guidance of the ``guidance='edge'`` ablation (EdgeConnect's input).

GAIN argues that image gradients guide inpainting better than binary edge maps. To measure that
claim, the edge variant feeds, in place of ∇I1, the Canny edges of the *masked* grayscale image,
masked like ∇I (kept only on ``M0`` = the valid region eroded by 1, so no edge that looked into a
hole or at the hole's own border survives); its guidance target is the Canny map of the full image.
Canny is implemented here in TensorFlow ops, equal to OpenCV's ``cv2.Canny`` pixel for pixel (the
tests compare them), so the input pipeline (:func:`add_edges`) and exported SavedModels compute the
same edges without OpenCV in the graph.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.layers.gradient import erode


# Canny as OpenCV computes it (3×3 Sobel with replicated border, L1 magnitude |dx| + |dy|,
# non-maximum suppression along the quantised direction with OpenCV's fixed-point tan(22.5°) and its
# asymmetric comparisons, candidates m > low, seeds m > high, 8-connected hysteresis); the tests
# check it against cv2.Canny pixel for pixel.
_CANNY_SHIFT = 15
_TG22 = int(0.4142135623730950488016887242097 * (1 << _CANNY_SHIFT) + 0.5)


def gray_uint8(images):
    """float RGB [-1, 1] ``[B,H,W,3]`` -> int32 gray ``[B,H,W,1]`` in 0..255:
    ``round((0.299 R + 0.587 G + 0.114 B + 1) · 127.5)``."""
    w = tf.constant([0.299, 0.587, 0.114], images.dtype)
    gray = (tf.reduce_sum(tf.cast(images, tf.float32) * tf.cast(w, tf.float32), -1, keepdims=True)
            + 1.0) * 127.5
    return tf.cast(tf.clip_by_value(tf.round(gray), 0.0, 255.0), tf.int32)


def canny_tf(gray, low: int, high: int):
    """OpenCV-equivalent Canny of int32 gray images ``[B,H,W,1]`` (0..255) -> float32 {0, 1}."""
    low, high = (int(low), int(high)) if low <= high else (int(high), int(low))
    g = tf.pad(gray[..., 0], [[0, 0], [1, 1], [1, 1]], mode="SYMMETRIC")  # replicate 1 pixel
    h, w = tf.shape(gray)[1], tf.shape(gray)[2]

    def at(t, dy, dx):
        return t[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]

    dx = (at(g, -1, 1) + 2 * at(g, 0, 1) + at(g, 1, 1)) - (at(g, -1, -1) + 2 * at(g, 0, -1) + at(g, 1, -1))
    dy = (at(g, 1, -1) + 2 * at(g, 1, 0) + at(g, 1, 1)) - (at(g, -1, -1) + 2 * at(g, -1, 0) + at(g, -1, 1))
    m = tf.abs(dx) + tf.abs(dy)
    mp = tf.pad(m, [[0, 0], [1, 1], [1, 1]])  # outside the image the magnitude is 0
    xs, ys = tf.abs(dx), tf.abs(dy) * (1 << _CANNY_SHIFT)
    tg22x = xs * _TG22
    tg67x = tg22x + xs * (1 << (_CANNY_SHIFT + 1))
    horizontal = (m > at(mp, 0, -1)) & (m >= at(mp, 0, 1))
    vertical = (m > at(mp, -1, 0)) & (m >= at(mp, 1, 0))
    neg = tf.not_equal(dx < 0, dy < 0)  # OpenCV: (dx ^ dy) < 0
    diag = tf.where(neg, (m > at(mp, -1, 1)) & (m > at(mp, 1, -1)),
                    (m > at(mp, -1, -1)) & (m > at(mp, 1, 1)))
    peak = tf.where(ys < tg22x, horizontal, tf.where(ys > tg67x, vertical, diag))
    candidate = tf.cast((m > low) & peak, tf.float32)[..., None]
    strong = candidate * tf.cast(m > high, tf.float32)[..., None]

    def grow(edges, _):
        grown = candidate * tf.nn.max_pool2d(edges, 3, 1, "SAME")
        return grown, tf.reduce_any(tf.not_equal(grown, edges))

    edges, _ = tf.while_loop(lambda e, changed: changed, grow, (strong, tf.constant(True)))
    return edges


def masked_canny(images, valid, low: int, high: int):
    """Edge guidance input: Canny of the masked grayscale image (holes are 0, i.e. mid-gray, in
    ``I ⊙ M``), kept on ``erode(valid)``. ``[B,H,W,3]``, ``[B,H,W,1]`` -> ``[B,H,W,1]`` in {0, 1}."""
    valid = tf.cast(valid, tf.float32)
    return canny_tf(gray_uint8(tf.cast(images, tf.float32) * valid), low, high) * erode(valid)


def canny(images, low: int, high: int):
    """Canny of each image's grayscale (the guidance target): ``[B,H,W,3]`` -> ``[B,H,W,1]``."""
    return canny_tf(gray_uint8(images), low, high)


def add_edges(batch, low: int, high: int):
    """tf.data map function: adds ``edges`` (guidance input) and ``edges_target`` to a batch dict."""
    return dict(batch, edges=masked_canny(batch["image"], batch["valid"], low, high),
                edges_target=canny(batch["image"], low, high))
