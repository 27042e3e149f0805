"""The attention offsets as a picture: :func:`flow_to_color` turns per-position ``(dy, dx)``
offsets into a Middlebury colour-coded flow image (zero offset = white, hue = direction,
saturation = length relative to the sample's longest)."""
from __future__ import annotations

import numpy as np
import tensorflow as tf


def _middlebury_wheel():
    """The Middlebury colour wheel (55 RGB colours in [0, 255])."""
    ry, yg, gc, cb, bm, mr = 15, 6, 4, 11, 13, 6
    cols = []
    cols += [(255, np.floor(255 * i / ry), 0) for i in range(ry)]
    cols += [(255 - np.floor(255 * i / yg), 255, 0) for i in range(yg)]
    cols += [(0, 255, np.floor(255 * i / gc)) for i in range(gc)]
    cols += [(0, 255 - np.floor(255 * i / cb), 255) for i in range(cb)]
    cols += [(np.floor(255 * i / bm), 0, 255) for i in range(bm)]
    cols += [(255, 0, 255 - np.floor(255 * i / mr)) for i in range(mr)]
    return np.asarray(cols, np.float32)


def flow_to_color(flow, max_radius=None):
    """Middlebury colour coding of a flow / offset field.

    Args:
      flow: ``[B, H, W, 2]`` offsets ``(dy, dx)`` (rows, columns), any real or integer dtype.
      max_radius: length mapped to full saturation; default: each sample's longest offset.

    Returns:
      ``uint8 [B, H, W, 3]`` RGB. Zero offset is white; the hue gives the direction (the usual
      Middlebury wheel: +x red, +y blue-ish, ...), saturation the length.
    """
    flow = tf.cast(flow, tf.float32)
    v, u = flow[..., 0], flow[..., 1]
    rad = tf.sqrt(u * u + v * v)
    if max_radius is None:
        max_radius = tf.reduce_max(rad, axis=[1, 2], keepdims=True)
    max_radius = tf.maximum(tf.cast(max_radius, tf.float32), 1e-6)
    rad = rad / max_radius
    u, v = u / max_radius, v / max_radius
    wheel = tf.constant(_middlebury_wheel() / 255.0)
    ncols = int(wheel.shape[0])
    angle = tf.atan2(-v, -u) / np.pi                       # [-1, 1]
    fk = (angle + 1.0) / 2.0 * (ncols - 1)                 # [0, ncols-1]
    k0 = tf.clip_by_value(tf.cast(tf.floor(fk), tf.int32), 0, ncols - 1)
    k1 = tf.math.floormod(k0 + 1, ncols)
    frac = (fk - tf.cast(k0, tf.float32))[..., None]
    col = (1.0 - frac) * tf.gather(wheel, k0) + frac * tf.gather(wheel, k1)
    r = rad[..., None]
    col = tf.where(r <= 1.0, 1.0 - r * (1.0 - col), col * 0.75)
    return tf.cast(tf.floor(255.0 * tf.clip_by_value(col, 0.0, 1.0)), tf.uint8)
