"""Training masks as tf.data datasets, per ``masks`` of :func:`gain_tf.data.train_dataset`.

Training masks (``masks``):

* ``'free_form'`` (default): DeepFill v2 free-form masks (:func:`gain_tf.strokes.free_form_mask`). For
  speed they come from a **pool** of ``mask_pool_size`` masks (default 2000) generated once with
  numpy from the seed (cached per process; half of them transposed), then sampled in TF with random
  left-right / up-down flips and a random cyclic shift each, so the combinations number in the
  hundreds of millions. ``mask_pool_size=0`` draws a fresh numpy mask per example
  instead (slower: ``tf.numpy_function``).
* ``'irregular'``: a pool like the above (always a pool; ``mask_pool_size=0`` means the default
  size) of :func:`gain_tf.masks.irregular_masks`, whose hole ratios are spread evenly over the
  evaluation buckets (10-60 %); free-form masks seldom exceed 40 %. The names ``'free_form'`` and
  ``'irregular'`` take precedence over folders of that name (pass ``./irregular`` for a folder).
* a folder of mask images (white = hole, e.g. NVIDIA's irregular masks): files shuffled, loaded at
  ``S x S`` (nearest neighbour) and augmented with :func:`gain_tf.mask_files.augment_mask` (flip,
  rotation, dilation) in ``tf.numpy_function``.
* a numpy array of valid masks ``[N, S, S, 1]``: used as the pool.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from gain_tf import mask_files as _mask_files
from gain_tf import masks as _masks
from gain_tf import strokes as _strokes

AUTOTUNE = tf.data.AUTOTUNE
DEFAULT_MASK_POOL_SIZE = 2000
_POOL_CACHE: dict = {}


def seed_base(seed: int, pipeline_id: int = 0) -> int:
    """The base of the stateless per-example seeds of a pipeline (``seed``, ``pipeline_id``)."""
    return (int(seed) * 1_000_003 + int(pipeline_id) * 7919) % (2 ** 62)


def _cached_pool(kind: str, size: int, pool_size: int, seed: int, build) -> np.ndarray:
    """The pool ``build(pool_size, size, seed)`` of ``kind``, cached per process; one pool at a time
    (2000 masks at 256x256 are 131 MB)."""
    key = (kind, int(size), int(pool_size), int(seed))
    if key not in _POOL_CACHE:
        _POOL_CACHE.clear()
        _POOL_CACHE[key] = build(int(pool_size), int(size), int(seed))
    return _POOL_CACHE[key]


def free_form_pool(size: int, pool_size: int = DEFAULT_MASK_POOL_SIZE, seed: int = 0) -> np.ndarray:
    """``pool_size`` free-form valid masks ``[P, size, size, 1]`` uint8 {0, 1}, cached per process.

    Every second mask is transposed: DeepFill v2's zig-zag strokes drift along x, and the pipeline's
    flips alone would not turn them.
    """
    def build(n, s, seed):
        pool = _strokes.free_form_masks(n, s, s, seed=seed, dtype=np.uint8)
        pool[1::2] = pool[1::2].transpose(0, 2, 1, 3)  # DeepFill strokes drift along x: half turned 90°
        return pool
    return _cached_pool("free_form", size, pool_size, seed, build)


def irregular_pool(size: int, pool_size: int = DEFAULT_MASK_POOL_SIZE, seed: int = 0) -> np.ndarray:
    """``pool_size`` irregular training masks (:func:`gain_tf.masks.irregular_masks`, hole ratios
    spread evenly over 10-60 %) as uint8 {0, 1} ``[P, size, size, 1]``, cached per process."""
    return _cached_pool("irregular", size, pool_size, seed,
                        lambda n, s, seed: _masks.irregular_masks(n, s, s, seed=seed, dtype=np.uint8))


def _pool_mask_dataset(pool: np.ndarray, base: int, batch_size: int | None = None) -> tf.data.Dataset:
    """Infinite dataset of uint8 masks ``[S, S, 1]`` (or batches ``[B, S, S, 1]``) sampled from ``pool``.

    Each mask: a random pool entry, flipped left-right and up-down at random and cyclically shifted
    by a random offset. Batches are sampled in one vectorised step: the flips and shifts are index
    maps applied with row gathers (the pool is kept transposed so both axes are gathered as rows).
    """
    p, h, w = pool.shape[0], pool.shape[1], pool.shape[2]
    pool_t = tf.constant(np.ascontiguousarray(pool[..., 0].transpose(0, 2, 1)))  # [P, w, h]
    b = 1 if batch_size is None else int(batch_size)
    rows, cols = tf.range(h), tf.range(w)

    def sample(i):
        seed = tf.stack([tf.constant(base + 1, tf.int64), i])
        idx = tf.random.stateless_uniform([b], seed, minval=0, maxval=p, dtype=tf.int32)
        flip = tf.random.stateless_uniform([b, 2], seed + [0, 1]) < 0.5
        dy = tf.random.stateless_uniform([b, 1], seed + [0, 2], minval=0, maxval=h, dtype=tf.int32)
        dx = tf.random.stateless_uniform([b, 1], seed + [0, 3], minval=0, maxval=w, dtype=tf.int32)
        ry = (rows[None, :] - dy) % h                     # output row r <- pool row ry[r]
        ry = tf.where(flip[:, 0:1], h - 1 - ry, ry)
        cx = (cols[None, :] - dx) % w                     # output column c <- pool column cx[c]
        cx = tf.where(flip[:, 1:2], w - 1 - cx, cx)
        m = tf.gather(pool_t, idx)                        # [b, w, h]
        m = tf.gather(m, cx, axis=1, batch_dims=1)
        m = tf.transpose(m, [0, 2, 1])                    # [b, h, w]
        m = tf.gather(m, ry, axis=1, batch_dims=1)[..., None]
        return m if batch_size is not None else m[0]

    return tf.data.Dataset.counter().map(sample, num_parallel_calls=AUTOTUNE)


def _fresh_free_form_dataset(size: int, base: int) -> tf.data.Dataset:
    def gen(i):
        return _strokes.free_form_mask(np.random.default_rng([base, int(i)]), size, size).astype(np.uint8)

    def fn(i):
        m = tf.numpy_function(gen, [i], tf.uint8, stateful=False)
        m.set_shape([size, size, 1])
        return m

    return tf.data.Dataset.counter().map(fn, num_parallel_calls=AUTOTUNE)


def _folder_mask_dataset(mask_dir: str, size: int, base: int, seed: int, augment_kwargs) -> tf.data.Dataset:
    files = _mask_files.list_mask_files(mask_dir)

    def load(path, i):
        rng = np.random.default_rng([base, 2, int(i)])
        valid = _mask_files.load_mask_file(path.decode(), size)
        return _mask_files.augment_mask(valid, rng, **(augment_kwargs or {})).astype(np.uint8)

    def fn(i, path):
        m = tf.numpy_function(load, [path, i], tf.uint8, stateful=False)
        m.set_shape([size, size, 1])
        return m

    ds = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    return ds.repeat().enumerate().map(fn, num_parallel_calls=AUTOTUNE)


def train_mask_dataset(masks, size: int, seed: int = 0, pipeline_id: int = 0,
                       mask_pool_size: int = DEFAULT_MASK_POOL_SIZE, mask_augment=None,
                       batch_size: int | None = None) -> tf.data.Dataset:
    """Infinite dataset of training valid masks ``[size, size, 1]`` uint8 {0, 1} (see the module doc).

    With ``batch_size`` it yields batches ``[batch_size, size, size, 1]`` instead.
    """
    base = seed_base(seed, pipeline_id)
    if batch_size is not None:
        if (isinstance(masks, np.ndarray) or masks == "irregular"
                or (masks in (None, "free_form") and mask_pool_size)):
            pass  # the pool samples whole batches at once
        else:
            return train_mask_dataset(masks, size, seed, pipeline_id, mask_pool_size,
                                      mask_augment).batch(int(batch_size))
    if isinstance(masks, np.ndarray):
        pool = (np.asarray(masks) > 0.5).astype(np.uint8)
        if pool.ndim != 4 or pool.shape[1:] != (size, size, 1):
            raise ValueError(f"masks: expected a [N, {size}, {size}, 1] array, got {pool.shape}")
        return _pool_mask_dataset(pool, base, batch_size)
    if masks == "irregular":
        return _pool_mask_dataset(irregular_pool(size, mask_pool_size or DEFAULT_MASK_POOL_SIZE, seed),
                                  base, batch_size)
    if masks in (None, "free_form"):
        if mask_pool_size and mask_pool_size > 0:
            return _pool_mask_dataset(free_form_pool(size, mask_pool_size, seed), base, batch_size)
        return _fresh_free_form_dataset(size, base)
    if isinstance(masks, (str, os.PathLike)) and os.path.isdir(masks):
        return _folder_mask_dataset(os.fspath(masks), size, base, seed, mask_augment)
    raise ValueError(f"masks={masks!r}: expected 'free_form', 'irregular', a folder of mask images "
                     "or an array")
