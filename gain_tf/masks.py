"""Masks: the library's one mask convention, and mask generators and loaders.

Convention. Inside the library a ``valid`` mask is float ``[B, H, W, 1]`` (or ``[H, W, 1]``) with
**1 = known pixel, 0 = hole** (the paper's M). At every user-facing boundary (mask files, the CLI,
the exported SavedModel) a mask is the usual inpainting-tool convention instead: **white /
non-zero = hole to fill**. :func:`valid_from_hole_mask` and :func:`hole_mask_from_valid` are the
only conversions between the two.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

# Mask files are thresholded here: a pixel is a hole when its value is above it (white = hole).
FILE_HOLE_THRESHOLD = 127


def valid_from_hole_mask(hole_mask, threshold: int = 0, dtype=tf.float32):
    """User hole mask (non-zero / > ``threshold`` = hole) -> library valid mask (1 = known).

    Works on numpy arrays (returns numpy) and tensors (returns a tensor). A trailing channel axis
    is added when the input has none; a multi-channel mask is reduced with ``max``.
    """
    if isinstance(hole_mask, np.ndarray):
        m = hole_mask
        if m.ndim >= 3 and m.shape[-1] > 1:
            m = m.max(axis=-1)
        if m.ndim == 2 or m.shape[-1] != 1:
            m = m[..., None]
        return (m <= threshold).astype(np.dtype(tf.as_dtype(dtype).as_numpy_dtype))
    m = tf.convert_to_tensor(hole_mask)
    if m.shape.rank == 2:
        m = m[..., None]
    elif m.shape[-1] != 1:
        m = tf.reduce_max(m, axis=-1, keepdims=True)
    return tf.cast(m <= tf.cast(threshold, m.dtype), dtype)


def hole_mask_from_valid(valid):
    """Library valid mask (1 = known) -> uint8 hole mask (255 = hole, 0 = known), numpy or tensor."""
    if isinstance(valid, np.ndarray):
        return np.where(valid > 0.5, 0, 255).astype(np.uint8)
    return tf.cast(tf.where(valid > 0.5, 0, 255), tf.uint8)
