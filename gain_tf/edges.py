"""Binary Canny edge maps: the guidance of the ``guidance='edge'`` ablation (EdgeConnect's input).

GAIN argues that image gradients guide inpainting better than binary edge maps. To measure that
claim, the edge variant feeds, in place of ∇I1, the Canny edges of the *masked* grayscale image,
masked like ∇I (kept only on ``M0`` = the valid region eroded by 1, so no edge that looked into a
hole or at the hole's own border survives); its guidance target is the Canny map of the full image.
Edges come from OpenCV and are computed once in the input pipeline (:func:`add_edges`).
"""
from __future__ import annotations

import cv2
import numpy as np
import tensorflow as tf

from gain_tf.layers.gradient import erode


def _gray_uint8(images):
    """float RGB [-1, 1] ``[B,H,W,3]`` -> uint8 gray ``[B,H,W]`` (0.299 R + 0.587 G + 0.114 B)."""
    gray = (images[..., 0] * 0.299 + images[..., 1] * 0.587 + images[..., 2] * 0.114 + 1.0) * 127.5
    return np.clip(np.round(gray), 0, 255).astype(np.uint8)


def canny(images, low: int, high: int) -> np.ndarray:
    """OpenCV Canny of each image's grayscale: ``[B,H,W,3]`` in [-1, 1] -> ``[B,H,W,1]`` in {0, 1}."""
    gray = _gray_uint8(np.asarray(images, np.float32))
    return np.stack([cv2.Canny(g, low, high) > 0 for g in gray])[..., None].astype(np.float32)


def masked_canny(images, valid, low: int, high: int) -> np.ndarray:
    """Edge guidance input: Canny of the masked grayscale image, kept on ``erode(valid)``."""
    images = np.asarray(images, np.float32)
    valid = np.asarray(valid, np.float32)
    # Holes are 0 in the network's input image I ⊙ M, i.e. mid-gray.
    edges = canny(images * valid, low, high)
    return edges * erode(tf.constant(valid)).numpy()


def add_edges(batch, low: int, high: int):
    """tf.data map function: adds ``edges`` (guidance input) and ``edges_target`` to a batch dict."""
    image, valid = batch["image"], batch["valid"]

    def fn(img, v):
        return masked_canny(img, v, low, high), canny(img, low, high)

    edges, target = tf.numpy_function(fn, [image, valid], [tf.float32, tf.float32])
    edges.set_shape(valid.shape)
    target.set_shape(valid.shape)
    return dict(batch, edges=edges, edges_target=target)
