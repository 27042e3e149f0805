"""Masks: the library's one mask convention, and the hole-ratio buckets of evaluation.

Convention. Inside the library a ``valid`` mask is float ``[B, H, W, 1]`` (or ``[H, W, 1]``) with
**1 = known pixel, 0 = hole** (the paper's M). At every user-facing boundary (mask files, the CLI,
the exported SavedModel) a mask is the usual inpainting-tool convention instead: **white /
non-zero = hole to fill**. :func:`valid_from_hole_mask` and :func:`hole_mask_from_valid` are the
only conversions between the two.

Below them, the hole-ratio buckets (all randomness from an explicit integer seed):

* :data:`BUCKETS`, :func:`hole_ratio`, :func:`bucket_mask`, :func:`bucket_name` -- seeded
  evaluation masks whose hole ratio lies in a bucket (10-20 % ... 50-60 %);
* :func:`irregular_masks` -- training masks drawn the same way, evenly over the buckets, from
  other random streams.

The free-form training masks (DeepFill v2 strokes) are in :mod:`gain_tf.strokes`; masks read from
files and their augmentation in :mod:`gain_tf.mask_files`.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from gain_tf.strokes import draw_stroke

# Mask files are thresholded here: a pixel is a hole when its value is above it (white = hole).
FILE_HOLE_THRESHOLD = 127
# Integer mask dtypes compared as int32 (exact for them): TFLite has no uint8 / int8 comparisons.
_SMALL_INTS = (tf.uint8, tf.int8, tf.uint16, tf.int16)


def valid_from_hole_mask(hole_mask, threshold: int = 0, dtype=tf.float32):
    """User hole mask (non-zero / > ``threshold`` = hole) -> library valid mask (1 = known).

    Works on numpy arrays (returns numpy) and tensors (returns a tensor). Shapes: ``[H, W]``,
    ``[H, W, C]``, ``[N, H, W]`` or ``[N, H, W, C]``; the result has one channel. A rank-3 mask
    whose last axis is 1, 3 or 4 long is one image ``[H, W, C]`` (gray, RGB, RGBA), otherwise a
    stack ``[N, H, W]``; several channels are reduced with ``max`` (a hole in any channel).
    """
    if isinstance(hole_mask, np.ndarray):
        m = hole_mask
        if m.ndim == 2 or (m.ndim == 3 and not _has_channels(m.shape[-1])):
            m = m[..., None]
        if m.shape[-1] != 1:
            m = m.max(axis=-1, keepdims=True)
        return (m <= threshold).astype(np.dtype(tf.as_dtype(dtype).as_numpy_dtype))
    m = tf.convert_to_tensor(hole_mask)
    if m.shape.rank == 2 or (m.shape.rank == 3 and not _has_channels(m.shape[-1])):
        m = m[..., None]
    if m.shape[-1] != 1:
        m = tf.reduce_max(m, axis=-1, keepdims=True)
    if m.dtype in _SMALL_INTS:
        return tf.cast(tf.cast(m, tf.int32) <= tf.cast(threshold, tf.int32), dtype)
    return tf.cast(m <= tf.cast(threshold, m.dtype), dtype)


def _has_channels(last) -> bool:
    """Whether a rank-3 mask's last axis (its static length, or None) is a channel axis."""
    return last is None or last in (1, 3, 4)


def hole_mask_from_valid(valid):
    """Library valid mask (1 = known) -> uint8 hole mask (255 = hole, 0 = known), numpy or tensor."""
    if isinstance(valid, np.ndarray):
        return np.where(valid > 0.5, 0, 255).astype(np.uint8)
    return tf.cast(tf.where(valid > 0.5, 0, 255), tf.uint8)


# --------------------------------------------------------------------------------------------------
# Hole-ratio buckets (evaluation)
# --------------------------------------------------------------------------------------------------

BUCKETS = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))


def hole_ratio(valid):
    """Share of hole pixels (valid <= 0.5) of a valid mask.

    ``[H, W]`` / ``[H, W, 1]`` -> float; ``[B, H, W, 1]`` / ``[B, H, W]`` -> float64 array ``[B]``.
    """
    v = np.asarray(valid)
    holes = (v <= 0.5)
    if v.ndim == 4 or (v.ndim == 3 and v.shape[-1] != 1):
        return holes.reshape(v.shape[0], -1).mean(axis=1)
    return float(holes.mean())


def in_bucket(ratio: float, bucket) -> bool:
    """``lo <= ratio < hi``."""
    lo, hi = bucket
    return lo <= ratio < hi


def bucket_name(bucket) -> str:
    """``(0.1, 0.2)`` -> ``"10-20%"``."""
    lo, hi = bucket
    return f"{int(round(lo * 100))}-{int(round(hi * 100))}%"


def _check_bucket(bucket):
    lo, hi = (float(b) for b in bucket)
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"bucket must be (lo, hi) with 0 <= lo < hi <= 1, got {bucket!r}")
    return lo, hi


def _strokes_to_ratio(rng: np.random.Generator, lo: float, hi: float, height: int, width: int,
                      max_restarts: int = 200) -> np.ndarray:
    """Free-form strokes (DeepFill v2 parameters, no box) added one at a time from an empty mask
    until the hole ratio reaches ``lo``; a stroke that would reach ``hi`` is discarded and a
    smaller one tried instead (after many failures the mask restarts). Valid ``[H, W, 1]`` float32."""
    size = height * width
    lo_px, hi_px = math.ceil(lo * size - 1e-9), math.ceil(hi * size - 1e-9)  # lo_px <= holes < hi_px
    if lo_px >= hi_px:
        raise ValueError(f"bucket {bucket_name((lo, hi))} holds no hole count at {height}x{width}")
    for _ in range(max_restarts):
        hole = np.zeros((height, width), np.uint8)
        fails = 0
        while fails < 40:
            cand = hole.copy()
            draw_stroke(cand, rng, shrink=0.9 ** fails)
            n = int(cand.sum())
            if n >= hi_px:
                fails += 1
                continue
            hole = cand
            if n >= lo_px:
                return (1 - hole[..., None]).astype(np.float32)
    raise RuntimeError(f"could not draw a {bucket_name((lo, hi))} mask at {height}x{width}")


def bucket_mask(bucket, index: int, height: int, width: int, seed: int = 0,
                max_restarts: int = 200) -> np.ndarray:
    """Evaluation mask number ``index`` of ``bucket``: valid ``[H, W, 1]`` float32, hole ratio in bucket.

    Free-form strokes (DeepFill v2 parameters, no box) are added one at a time from an empty mask
    until the hole ratio reaches ``lo``; a stroke that would overshoot ``hi`` is discarded and a
    smaller one tried instead (after many failures the mask restarts). The generator is seeded with
    ``(seed, index, lo, hi)``, so the mask is identical run to run and independent of how many
    masks are generated.
    """
    lo, hi = _check_bucket(bucket)
    if seed < 0 or index < 0:
        raise ValueError("seed and index must be non-negative")
    rng = np.random.default_rng([int(seed), int(index), int(round(lo * 1e4)), int(round(hi * 1e4))])
    return _strokes_to_ratio(rng, lo, hi, height, width, max_restarts)


# The irregular training masks' random streams are spawned children (spawn key: this tag) of
# SeedSequence((seed, index)); the evaluation masks' streams are root sequences, so the two never
# share a stream and a training mask is never drawn as an evaluation mask.
_IRREGULAR_TRAIN_TAG = 0x1A5C


def irregular_masks(count: int, height: int, width: int, seed: int = 0, buckets=BUCKETS,
                    dtype=np.float32) -> np.ndarray:
    """``count`` irregular *training* masks ``[count, H, W, 1]`` (1 = known) spread evenly over the
    hole-ratio ``buckets`` (mask ``i`` lies in bucket ``i % len(buckets)``), drawn like the
    evaluation masks of :func:`bucket_mask` but from random streams disjoint from theirs.

    DeepFill v2's free-form masks (:func:`gain_tf.strokes.free_form_mask`) rarely cover more than 40 % of the image
    (median about 20 %), while the paper reports 10-60 % holes; training on these covers that range
    evenly, as training on NVIDIA's irregular masks does.
    """
    buckets = [_check_bucket(b) for b in buckets]
    out = np.empty((count, height, width, 1), dtype)
    for i in range(count):
        lo, hi = buckets[i % len(buckets)]
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), i],
                                                           spawn_key=(_IRREGULAR_TRAIN_TAG,)))
        out[i] = _strokes_to_ratio(rng, lo, hi, height, width)
    return out
