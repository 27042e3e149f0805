"""tf.data pipelines: training and evaluation batches from TFRecords or an image folder.

Both yield dicts ``{'image': float32 [B, S, S, 3] in [-1, 1], 'valid': float32 [B, S, S, 1] in {0, 1}}``
(1 = known pixel, 0 = hole; see :mod:`gain_tf.masks`); evaluation adds ``'filename'`` (string ``[B]``).

Sources (``source``):

* TFRecords written by ``python -m data_prep.build_tfrecords``: a glob (``records/train-*.tfrecord``),
  a list of files, or the output folder itself (then the shards of ``split`` are used, default
  ``train`` for training and ``val`` for evaluation, falling back to every shard in the folder).
* An image folder (searched recursively, :func:`gain_tf.images.list_image_files`), decoded with OpenCV; images
  are resized like the builder does (shorter side to ``image_size``); unreadable files are skipped.

Training (:func:`train_dataset`): shard files are shuffled and read interleaved
(``Dataset.interleave``, ``num_parallel_calls=AUTOTUNE``), records shuffled, decoded in parallel,
resized when their shorter side is not ``image_size`` (images built with ``--keep_larger`` only get
cropped), randomly cropped to ``S x S`` and flipped left-right; paired with a mask, batched with
``drop_remainder=True`` and prefetched. All per-example randomness is stateless and seeded by
``(seed, element index)``, so ``deterministic=True`` (a fixed seed, deterministic interleave / map
order) gives the same batches run to run; ``deterministic=False`` lets tf.data reorder for speed.

Training masks (``masks``):

* ``'free_form'`` (default): DeepFill v2 free-form masks (:func:`gain_tf.masks.free_form_mask`). For
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
  ``S x S`` (nearest neighbour) and augmented with :func:`gain_tf.masks.augment_mask` (flip,
  rotation, dilation) in ``tf.numpy_function``.
* a numpy array of valid masks ``[N, S, S, 1]``: used as the pool.

Distribution: pass the ``tf.distribute.InputContext`` that ``strategy.distribute_datasets_from_function``
gives; ``batch_size`` is then the global batch and each input pipeline yields
``input_context.get_per_replica_batch_size(batch_size)``. Files are sharded by
``input_pipeline_id`` when there are at least as many files as pipelines, otherwise elements are
(after a deterministic interleave). Augmentation seeds include the pipeline id.

Evaluation (:func:`eval_dataset`): the first ``count`` images in source order (records: sorted
shards, record order; folder: sorted paths), shorter side resized to ``S`` and centre-cropped, each
paired with the seeded bucket mask of the same index (:func:`gain_tf.masks.bucket_mask`), or with
the masks of ``mask_dir`` whose hole ratio lies in the bucket (cycled when there are fewer).
Deterministic; the last batch may be smaller.
"""
from __future__ import annotations

import glob as _glob
import os
import random as _random

import numpy as np
import tensorflow as tf
from absl import logging as _log

from gain_tf import masks as _masks
from gain_tf.images import ImageReadError, list_image_files, read_image, resize_shorter_side, to_model_range

AUTOTUNE = tf.data.AUTOTUNE
RECORD_FEATURES = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/filename": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "image/label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
}
RECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfr")
DEFAULT_MASK_POOL_SIZE = 2000
_POOL_CACHE: dict = {}


# -------------------- Sources ------------------------------------------------------------------

def resolve_source(source, split: str | None = None) -> tuple[str, list[str]]:
    """``('records' | 'images', sorted files)`` for a glob, file list, record folder or image folder."""
    if isinstance(source, (list, tuple)):
        files = [os.fspath(f) for f in source]
        if not files:
            raise ValueError("source: empty file list")
        kind = "records" if all(f.lower().endswith(RECORD_SUFFIXES) for f in files) else "images"
        return kind, files
    source = os.fspath(source)
    if any(c in source for c in "*?["):
        files = sorted(_glob.glob(source))
        if not files:
            raise FileNotFoundError(f"{source}: no file matches")
        kind = "records" if all(f.lower().endswith(RECORD_SUFFIXES) for f in files) else "images"
        return kind, files
    if os.path.isfile(source):
        return ("records" if source.lower().endswith(RECORD_SUFFIXES) else "images"), [source]
    if not os.path.isdir(source):
        raise FileNotFoundError(f"{source}: no such file or directory")
    records = sorted(f for f in _glob.glob(os.path.join(source, "*")) if f.lower().endswith(RECORD_SUFFIXES))
    if records:
        if split:
            chosen = [f for f in records if os.path.basename(f).startswith(f"{split}-")]
            if chosen:
                return "records", chosen
        return "records", records
    files = list_image_files(source)
    if not files:
        raise FileNotFoundError(f"{source}: no TFRecords and no images found")
    return "images", files


def _decode_encoded(encoded):
    """JPEG / PNG / BMP / GIF bytes -> uint8 ``[h, w, 3]``."""
    img = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    img.set_shape([None, None, 3])
    return img


def _read_file_np(path, size):
    """numpy side of folder reading: RGB uint8, shorter side resized to ``size`` ([0,0,3] when unreadable)."""
    p = path.decode() if isinstance(path, bytes) else str(path)
    try:
        img = read_image(p)
    except ImageReadError:
        return np.zeros((0, 0, 3), np.uint8)
    return np.ascontiguousarray(resize_shorter_side(img, int(size)))


def _read_file(path, size):
    img = tf.numpy_function(_read_file_np, [path, size], tf.uint8, stateful=False)
    img.set_shape([None, None, 3])
    return img


def _resize_shorter_tf(img, size):
    """Resizes so the shorter side is ``size`` (area when shrinking, bilinear when enlarging); no-op when it is."""
    shape = tf.shape(img)
    h, w = shape[0], shape[1]
    short = tf.minimum(h, w)

    def resize():
        scale = tf.cast(size, tf.float32) / tf.cast(short, tf.float32)
        nh = tf.maximum(size, tf.cast(tf.round(tf.cast(h, tf.float32) * scale), tf.int32))
        nw = tf.maximum(size, tf.cast(tf.round(tf.cast(w, tf.float32) * scale), tf.int32))
        nh = tf.where(h <= w, size, nh)
        nw = tf.where(w < h, size, nw)
        out = tf.cond(short > size,
                      lambda: tf.image.resize(img, tf.stack([nh, nw]), method="area"),
                      lambda: tf.image.resize(img, tf.stack([nh, nw]), method="bilinear"))
        return tf.cast(tf.clip_by_value(tf.round(out), 0, 255), tf.uint8)

    return tf.cond(tf.equal(short, size), lambda: img, resize)


def _center_crop_tf(img, size):
    shape = tf.shape(img)
    top, left = (shape[0] - size) // 2, (shape[1] - size) // 2
    return img[top:top + size, left:left + size, :]


def _seed_base(seed: int, pipeline_id: int = 0) -> int:
    return (int(seed) * 1_000_003 + int(pipeline_id) * 7919) % (2 ** 62)


# -------------------- Masks for training -------------------------------------------------------

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
        pool = _masks.free_form_masks(n, s, s, seed=seed, dtype=np.uint8)
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
        return _masks.free_form_mask(np.random.default_rng([base, int(i)]), size, size).astype(np.uint8)

    def fn(i):
        m = tf.numpy_function(gen, [i], tf.uint8, stateful=False)
        m.set_shape([size, size, 1])
        return m

    return tf.data.Dataset.counter().map(fn, num_parallel_calls=AUTOTUNE)


def _folder_mask_dataset(mask_dir: str, size: int, base: int, seed: int, augment_kwargs) -> tf.data.Dataset:
    files = _masks.list_mask_files(mask_dir)

    def load(path, i):
        rng = np.random.default_rng([base, 2, int(i)])
        valid = _masks.load_mask_file(path.decode(), size)
        return _masks.augment_mask(valid, rng, **(augment_kwargs or {})).astype(np.uint8)

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
    base = _seed_base(seed, pipeline_id)
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


# -------------------- Training -----------------------------------------------------------------

def train_dataset(source, batch_size: int, image_size: int = 256, masks="free_form", seed: int | None = None,
                  deterministic: bool = False, repeat: bool = True, input_context=None, *,
                  split: str | None = "train", shuffle_buffer: int = 1024, cycle_length: int = 8,
                  mask_pool_size: int = DEFAULT_MASK_POOL_SIZE, mask_augment: dict | None = None,
                  resize_shorter: bool = True, include_filename: bool = False,
                  max_shorter_side: int = 0) -> tf.data.Dataset:
    """Training batches ``{'image', 'valid'}`` (see the module doc).

    ``max_shorter_side`` > ``image_size`` gives multi-scale crops: each image's shorter side is
    resized to a length drawn uniformly from ``[image_size, min(max_shorter_side, its own)]`` before
    the random crop, so a crop shows anything from the whole image to a detail at its stored scale.

    ``batch_size`` is the global batch when ``input_context`` is given (per pipeline:
    ``input_context.get_per_replica_batch_size(batch_size)``). ``seed=None`` draws a random seed
    unless ``deterministic`` (then 0). ``resize_shorter=False`` crops without resizing larger images.
    ``include_filename`` adds ``'filename'`` (for debugging and tests).
    """
    if seed is None:
        seed = 0 if deterministic else _random.SystemRandom().randrange(2 ** 31)
    size = int(image_size)
    kind, files = resolve_source(source, split)
    num_pipelines, pipeline_id = 1, 0
    if input_context is not None:
        num_pipelines, pipeline_id = input_context.num_input_pipelines, input_context.input_pipeline_id
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    shard_elements = num_pipelines > 1 and len(files) < num_pipelines
    if num_pipelines > 1 and not shard_elements:
        files = files[pipeline_id::num_pipelines]
        _log.info("input pipeline %d of %d reads %d files: %s", pipeline_id, num_pipelines,
                  len(files), ", ".join(os.path.basename(f) for f in files[:8]))
    base = _seed_base(seed, pipeline_id)

    ds = tf.data.Dataset.from_tensor_slices(files)
    if len(files) > 1:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ordered = deterministic or shard_elements  # element sharding needs the same order in every pipeline
    if kind == "records":
        ds = ds.interleave(lambda f: tf.data.TFRecordDataset(f, buffer_size=1 << 20),
                           cycle_length=max(1, min(cycle_length, len(files))), block_length=1,
                           num_parallel_calls=AUTOTUNE, deterministic=ordered)
    if shard_elements:
        ds = ds.shard(num_pipelines, pipeline_id)
    if shuffle_buffer and shuffle_buffer > 1:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

    def load(i, x):
        if kind == "records":
            ex = tf.io.parse_single_example(x, RECORD_FEATURES)
            img, name = _decode_encoded(ex["image/encoded"]), ex["image/filename"]
        else:
            img, name = _read_file(x, max(size, max_shorter_side)), x
        return i, img, name

    def augment(i, img, name):
        seed_i = tf.stack([tf.constant(base, tf.int64), i])
        if max_shorter_side > size:
            short = tf.reduce_min(tf.shape(img)[:2])
            top = tf.maximum(tf.minimum(short, int(max_shorter_side)), size)
            target = tf.random.stateless_uniform([], seed_i + [0, 2], size, top + 1, tf.int32)
            img = _resize_shorter_tf(img, target)
        elif resize_shorter:
            img = _resize_shorter_tf(img, size)
        else:
            img = tf.cond(tf.reduce_min(tf.shape(img)[:2]) < size, lambda: _resize_shorter_tf(img, size),
                          lambda: img)
        shape = tf.shape(img)
        img = tf.cond(tf.logical_and(tf.equal(shape[0], size), tf.equal(shape[1], size)),
                      lambda: img,
                      lambda: tf.image.stateless_random_crop(img, [size, size, 3], seed_i))
        img = tf.image.stateless_random_flip_left_right(img, seed_i + [0, 1])
        img.set_shape([size, size, 3])
        return img, name

    ds = ds.enumerate()
    if kind == "records":  # one map: fewer per-element hand-offs
        ds = ds.map(lambda i, x: augment(*load(i, x)), num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    else:  # unreadable files come back empty and are dropped before augmenting
        ds = ds.map(load, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
        ds = ds.filter(lambda i, img, name: tf.size(img) > 0)
        ds = ds.map(augment, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    ds = ds.batch(batch_size, drop_remainder=True)
    mask_ds = train_mask_dataset(masks, size, seed, pipeline_id, mask_pool_size, mask_augment,
                                 batch_size=batch_size)
    ds = tf.data.Dataset.zip((ds, mask_ds))

    def finish(pair, valid):
        img, name = pair
        out = {"image": to_model_range(img), "valid": tf.cast(valid, tf.float32)}
        if include_filename:
            out["filename"] = name
        return out

    ds = ds.map(finish, num_parallel_calls=AUTOTUNE, deterministic=deterministic).prefetch(AUTOTUNE)
    opts = tf.data.Options()
    opts.deterministic = bool(deterministic)
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(opts)


def training_dataset_fn(config, source, seed: int = 0, deterministic: bool = False):
    """``input_context -> tf.data.Dataset`` of per-replica training batches of a ``GAINConfig``:
    its ``data`` section (size, global batch, masks) plus what its guidance adds (edge maps)."""
    from gain_tf.guidance import guidance_for
    d, guide = config.data, guidance_for(config.model)
    return lambda ctx: train_dataset(source, d.batch_size, d.image_size, d.masks, seed, deterministic,
                                     input_context=ctx, max_shorter_side=d.max_shorter_side
                                     ).map(guide.add_to_batch)


# -------------------- Evaluation ---------------------------------------------------------------

def bucket_mask_files(mask_dir: str, bucket, size: int, count: int | None = None) -> list[str]:
    """The mask files of ``mask_dir`` (sorted) whose hole ratio at ``size x size`` lies in ``bucket``."""
    chosen = []
    for path in _masks.list_mask_files(mask_dir):
        if _masks.in_bucket(_masks.hole_ratio(_masks.load_mask_file(path, size)), bucket):
            chosen.append(path)
            if count is not None and len(chosen) >= count:
                break
    if not chosen:
        raise ValueError(f"{mask_dir}: no mask with a hole ratio in {_masks.bucket_name(bucket)} at {size}x{size}")
    return chosen


def eval_dataset(source, image_size: int, bucket, count: int | None = None, seed: int = 0, batch_size: int = 8,
                 mask_dir: str | None = None, *, split: str | None = "val") -> tf.data.Dataset:
    """Evaluation batches ``{'image', 'valid', 'filename'}``, deterministic (see the module doc)."""
    size = int(image_size)
    lo, hi = _masks._check_bucket(bucket)
    kind, files = resolve_source(source, split)
    ds = tf.data.Dataset.from_tensor_slices(files)
    if kind == "records":
        ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=1, num_parallel_calls=None, deterministic=True)

        def load(x):
            ex = tf.io.parse_single_example(x, RECORD_FEATURES)
            return _resize_shorter_tf(_decode_encoded(ex["image/encoded"]), size), ex["image/filename"]
    else:
        def load(x):
            return _read_file(x, size), x

    ds = ds.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    if kind == "images":
        ds = ds.filter(lambda img, name: tf.size(img) > 0)
    if count is not None:
        ds = ds.take(int(count))

    if mask_dir is not None:
        mask_files = bucket_mask_files(mask_dir, (lo, hi), size, count)

        def mask_np(i):
            return _masks.load_mask_file(mask_files[int(i) % len(mask_files)], size)
    else:
        def mask_np(i):
            return _masks.bucket_mask((lo, hi), int(i), size, size, seed)

    def pair(i, item):
        img, name = item
        valid = tf.numpy_function(mask_np, [i], tf.float32, stateful=False)
        valid.set_shape([size, size, 1])
        img = _center_crop_tf(img, size)
        img.set_shape([size, size, 3])
        return {"image": to_model_range(img), "valid": valid, "filename": name}

    ds = ds.enumerate().map(pair, num_parallel_calls=AUTOTUNE, deterministic=True)
    ds = ds.batch(int(batch_size), drop_remainder=False).prefetch(AUTOTUNE)
    opts = tf.data.Options()
    opts.deterministic = True
    return ds.with_options(opts)
