"""Masks: the library's one mask convention, and mask generators and loaders.

Convention. Inside the library a ``valid`` mask is float ``[B, H, W, 1]`` (or ``[H, W, 1]``) with
**1 = known pixel, 0 = hole** (the paper's M). At every user-facing boundary (mask files, the CLI,
the exported SavedModel) a mask is the usual inpainting-tool convention instead: **white /
non-zero = hole to fill**. :func:`valid_from_hole_mask` and :func:`hole_mask_from_valid` are the
only conversions between the two.

Below them (all randomness from a ``np.random.Generator`` or an explicit integer seed):

* :func:`free_form_mask` -- DeepFill v2 free-form brush strokes (optionally OR-ed with a box), the
  training masks; :func:`free_form_masks` a seeded stack of them (the training pipeline's pool).
* :data:`BUCKETS`, :func:`hole_ratio`, :func:`bucket_mask` / :func:`bucket_masks`,
  :func:`bucket_name` -- seeded evaluation masks whose hole ratio lies in a bucket (10-20 % ... 50-60 %);
  :func:`irregular_masks` -- training masks drawn the same way, evenly over the buckets, from
  other random streams.
* :func:`load_mask_file`, :func:`list_mask_files`, :class:`MaskFolder` -- masks read from files
  (NVIDIA irregular masks or any folder of mask images; white = hole), and :func:`augment_mask` /
  :func:`augment_mask_tf`, their train-time augmentation (flip, rotation, dilation).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import tensorflow as tf

from gain_tf.images import IMAGE_EXTENSIONS, ImageReadError, list_image_files, read_image  # noqa: F401

# Mask files are thresholded here: a pixel is a hole when its value is above it (white = hole).
FILE_HOLE_THRESHOLD = 127
# Integer mask dtypes compared as int32 (exact for them): TFLite has no uint8 / int8 comparisons.
_SMALL_INTS = (tf.uint8, tf.int8, tf.uint16, tf.int16)


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
    if m.dtype in _SMALL_INTS:
        return tf.cast(tf.cast(m, tf.int32) <= tf.cast(threshold, tf.int32), dtype)
    return tf.cast(m <= tf.cast(threshold, m.dtype), dtype)


def hole_mask_from_valid(valid):
    """Library valid mask (1 = known) -> uint8 hole mask (255 = hole, 0 = known), numpy or tensor."""
    if isinstance(valid, np.ndarray):
        return np.where(valid > 0.5, 0, 255).astype(np.uint8)
    return tf.cast(tf.where(valid > 0.5, 0, 255), tf.uint8)


# --------------------------------------------------------------------------------------------------
# Free-form masks (DeepFill v2, Yu et al. 2019)
# --------------------------------------------------------------------------------------------------

FREE_FORM_DEFAULTS = dict(
    min_strokes=1, max_strokes=3,          # strokes per mask
    min_vertices=4, max_vertices=11,       # segments per stroke (num_vertex of DeepFill v2)
    mean_angle=2 * math.pi / 5, angle_range=2 * math.pi / 15,
    min_brush=12.0, max_brush=40.0,        # brush width in px at 256x256, scaled with sqrt(H*W)/256
)


def _draw_stroke(hole: np.ndarray, rng: np.random.Generator, min_vertices: int = 4,
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
        _draw_stroke(hole, rng, min_vertices, max_vertices, mean_angle, angle_range, min_brush, max_brush)
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


# --------------------------------------------------------------------------------------------------
# Hole-ratio buckets (evaluation)
# --------------------------------------------------------------------------------------------------

BUCKETS = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))


def hole_ratio(valid):
    """Share of hole pixels (valid <= 0.5) of a valid mask.

    ``[H, W]`` / ``[H, W, 1]`` -> float; ``[B, H, W, 1]`` -> float64 array ``[B]``.
    """
    v = np.asarray(valid)
    holes = (v <= 0.5)
    if v.ndim == 4:
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
            _draw_stroke(cand, rng, shrink=0.9 ** fails)
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

    DeepFill v2's free-form masks (:func:`free_form_mask`) rarely cover more than 40 % of the image
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


def bucket_masks(bucket, count: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """``count`` evaluation masks of ``bucket``: valid ``[count, H, W, 1]`` float32 (see :func:`bucket_mask`)."""
    out = np.empty((count, height, width, 1), np.float32)
    for i in range(count):
        out[i] = bucket_mask(bucket, i, height, width, seed)
    return out


# --------------------------------------------------------------------------------------------------
# Mask files (NVIDIA irregular masks, any folder of mask images): white / non-zero = hole
# --------------------------------------------------------------------------------------------------

def _size_hw(size):
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


def load_mask_file(path: str, size=None) -> np.ndarray:
    """Reads a mask image (white / > FILE_HOLE_THRESHOLD = hole) -> valid ``[H, W, 1]`` float32.

    ``size`` (int or ``(height, width)``) resizes with nearest neighbour before thresholding. Colour
    masks count a pixel as hole when any channel is above the threshold. A file that is not an
    image raises :class:`gain_tf.images.ImageReadError` naming it.
    """
    img = read_image(path)  # RGB; valid_from_hole_mask takes the max over channels
    hw = _size_hw(size)
    if hw is not None and img.shape[:2] != hw:
        img = cv2.resize(img, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)
    return valid_from_hole_mask(img, threshold=FILE_HOLE_THRESHOLD, dtype=tf.float32)


def list_mask_files(directory: str) -> list[str]:
    """Every image file under ``directory`` (recursive, sorted); raises when there is none."""
    files = list_image_files(directory)
    if not files:
        raise FileNotFoundError(f"{directory}: no mask images (extensions "
                                f"{', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) found")
    return files


def augment_mask(valid: np.ndarray, rng: np.random.Generator, *, flip: bool = True,
                 rot90: bool = True, max_angle: float = 10.0, max_dilate: int = 3) -> np.ndarray:
    """Train-time augmentation of a valid mask ``[H, W, 1]`` -> same shape, float32 {0, 1}.

    Random left-right / up-down flips, a rotation by a multiple of 90° (only 0/180° when not
    square), a small rotation ``U(-max_angle, max_angle)`` degrees (nearest neighbour; pixels
    rotated in from outside are known), and a dilation of the holes by ``0..max_dilate`` px.
    """
    hole = (np.asarray(valid)[..., 0] <= 0.5).astype(np.uint8)
    h, w = hole.shape
    if flip:
        if rng.uniform() < 0.5:
            hole = hole[:, ::-1]
        if rng.uniform() < 0.5:
            hole = hole[::-1, :]
    if rot90:
        k = int(rng.integers(0, 4)) if h == w else 2 * int(rng.integers(0, 2))
        hole = np.rot90(hole, k)
    hole = np.ascontiguousarray(hole)
    if max_angle > 0:
        angle = float(rng.uniform(-max_angle, max_angle))
        m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
        hole = cv2.warpAffine(hole, m, (w, h), flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if max_dilate > 0:
        d = int(rng.integers(0, max_dilate + 1))
        if d > 0:
            hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * d + 1, 2 * d + 1)))
    return (1 - hole[..., None]).astype(np.float32)


def augment_mask_tf(valid, seed, **kwargs):
    """:func:`augment_mask` for tf.data: ``valid`` ``[H, W, 1]`` tensor, ``seed`` int64 tensor ``[2]``.

    Runs the numpy function through ``tf.numpy_function`` with a generator seeded by ``seed``, so a
    pipeline stays deterministic when its seeds are.
    """
    def fn(v, s):
        rng = np.random.default_rng([int(x) & 0x7FFFFFFFFFFFFFFF for x in np.asarray(s).ravel()])
        return augment_mask(v, rng, **kwargs)

    out = tf.numpy_function(fn, [valid, tf.cast(seed, tf.int64)], tf.float32, stateful=False)
    out.set_shape(valid.shape)
    return out


class MaskFolder:
    """The mask images of a folder (recursive), e.g. NVIDIA's irregular mask dataset.

    ``MaskFolder(path, size=256)[i]`` is mask ``i`` (sorted by path) as a valid mask
    ``[size, size, 1]``; ``sample(rng)`` draws one at random with :func:`augment_mask`.
    """

    def __init__(self, path: str, size=None):
        self.path = path
        self.size = _size_hw(size)
        self.files = list_mask_files(path)

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int, size=None) -> np.ndarray:
        return load_mask_file(self.files[index], self.size if size is None else size)

    __getitem__ = load

    def sample(self, rng: np.random.Generator, size=None, augment: bool = True, **aug_kwargs) -> np.ndarray:
        valid = self.load(int(rng.integers(0, len(self.files))), size)
        return augment_mask(valid, rng, **aug_kwargs) if augment else valid

    def hole_ratios(self, size=None) -> np.ndarray:
        """Hole ratio of every mask (loads them all)."""
        return np.array([hole_ratio(self.load(i, size)) for i in range(len(self))])
