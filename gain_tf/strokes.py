"""DeepFill v2 free-form masks (Yu et al. 2019): zig-zag brush strokes, optionally with a box.

:func:`free_form_mask` is the default training mask; :func:`free_form_masks` a seeded stack of them
(the training pipeline's pool); :func:`draw_stroke` one stroke, also used by the hole-ratio bucket
masks of :mod:`gain_tf.masks`. Valid masks follow :mod:`gain_tf.masks` (1 = known, 0 = hole); all
randomness comes from a ``np.random.Generator`` or an explicit integer seed.
"""
from __future__ import annotations

import math

import cv2
import numpy as np


def draw_stroke(hole: np.ndarray, rng: np.random.Generator, min_vertices: int = 4,
                 max_vertices: int = 11, mean_angle: float = 2 * math.pi / 5,
                 angle_range: float = 2 * math.pi / 15, min_brush: float = 12.0,
                 max_brush: float = 40.0, shrink: float = 1.0) -> None:
    """Draws one DeepFill v2 brush stroke into the uint8 hole map ``hole`` (1 = hole), in place.

    ``shrink`` (<= 1) scales segment lengths and brush width down (used to fine-tune bucket masks).
    """
    h, w = hole.shape[:2]
    radius = math.sqrt(h * h + w * w) / 8.0 * shrink
    brush_scale = math.sqrt(h * w) / 256.0
    n = int(rng.integers(min_vertices, max_vertices + 1))
    a_min = mean_angle - rng.uniform(0.0, angle_range)
    a_max = mean_angle + rng.uniform(0.0, angle_range)
    angles = rng.uniform(a_min, a_max, size=n)
    angles[::2] = 2 * math.pi - angles[::2]  # alternate the turning direction: a zig-zag stroke
    lengths = np.clip(rng.normal(radius, radius / 2.0, size=n), 0.0, 2.0 * radius)
    pts = np.empty((n + 1, 2), np.float64)
    pts[0] = rng.integers(0, w), rng.integers(0, h)
    for i in range(n):
        pts[i + 1, 0] = np.clip(pts[i, 0] + lengths[i] * math.cos(angles[i]), 0, w - 1)
        pts[i + 1, 1] = np.clip(pts[i, 1] + lengths[i] * math.sin(angles[i]), 0, h - 1)
    brush = max(1, int(rng.uniform(min_brush, max_brush) * brush_scale * shrink))
    pts_i = np.round(pts).astype(np.int32)
    cv2.polylines(hole, [pts_i.reshape(-1, 1, 2)], False, 1, thickness=brush, lineType=cv2.LINE_8)
    r = max(brush // 2, 0)
    for x, y in pts_i:
        cv2.circle(hole, (int(x), int(y)), r, 1, thickness=-1, lineType=cv2.LINE_8)


def _draw_box(hole: np.ndarray, rng: np.random.Generator, min_fraction: float = 0.125,
              max_fraction: float = 0.5) -> None:
    """A random axis-aligned box (sides ``min..max_fraction`` of the image's) into ``hole``."""
    h, w = hole.shape[:2]
    bh = int(rng.integers(max(1, int(h * min_fraction)), max(2, int(h * max_fraction)) + 1))
    bw = int(rng.integers(max(1, int(w * min_fraction)), max(2, int(w * max_fraction)) + 1))
    bh, bw = min(bh, h), min(bw, w)
    top = int(rng.integers(0, h - bh + 1))
    left = int(rng.integers(0, w - bw + 1))
    hole[top:top + bh, left:left + bw] = 1


def free_form_mask(rng: np.random.Generator, height: int, width: int, *, min_strokes: int = 1,
                   max_strokes: int = 3, min_vertices: int = 4, max_vertices: int = 11,
                   mean_angle: float = 2 * math.pi / 5, angle_range: float = 2 * math.pi / 15,
                   min_brush: float = 12.0, max_brush: float = 40.0, box_prob: float = 0.5,
                   box_fraction: tuple[float, float] = (0.125, 0.5), flip: bool = True) -> np.ndarray:
    """A DeepFill v2 free-form training mask: valid mask ``[height, width, 1]`` float32 (1 = known).

    ``min_strokes..max_strokes`` strokes; each starts at a uniform random pixel and makes
    ``min_vertices..max_vertices`` segments whose directions alternate around ``mean_angle``
    (``2π/5``; the stroke's own angle interval is ``mean_angle ± U(0, angle_range)``, range
    ``2π/15``), lengths ``N(r, r/2)`` clipped to ``[0, 2r]`` with ``r = sqrt(H² + W²) / 8``; drawn with
    a brush ``U(min_brush, max_brush)`` px wide at 256x256 (scaled by ``sqrt(H*W)/256``), with a disc
    of the brush's width at every vertex. With probability ``box_prob`` a random box (sides a
    ``U(box_fraction)`` share of the image's) is OR-ed in. ``flip`` flips the result left-right /
    up-down at random, as DeepFill v2 does.
    """
    if height < 1 or width < 1:
        raise ValueError(f"mask size must be positive, got {height}x{width}")
    hole = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(min_strokes, max_strokes + 1))):
        draw_stroke(hole, rng, min_vertices, max_vertices, mean_angle, angle_range, min_brush, max_brush)
    if box_prob > 0 and rng.uniform() < box_prob:
        _draw_box(hole, rng, *box_fraction)
    if flip:
        if rng.uniform() < 0.5:
            hole = hole[:, ::-1]
        if rng.uniform() < 0.5:
            hole = hole[::-1, :]
    return (1 - hole[..., None]).astype(np.float32)


def free_form_masks(count: int, height: int, width: int, seed: int = 0, dtype=np.float32,
                    **kwargs) -> np.ndarray:
    """``count`` free-form valid masks ``[count, H, W, 1]``; mask ``i`` depends only on (seed, i)."""
    out = np.empty((count, height, width, 1), dtype)
    for i in range(count):
        out[i] = free_form_mask(np.random.default_rng([int(seed), i]), height, width, **kwargs)
    return out
