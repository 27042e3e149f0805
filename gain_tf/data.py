"""tf.data pipelines: training and evaluation batches from TFRecords or an image folder.

Both yield dicts ``{'image': float32 [B, S, S, 3] in [-1, 1], 'valid': float32 [B, S, S, 1] in {0, 1}}``
(1 = known pixel, 0 = hole; see :mod:`gain_tf.masks`); evaluation adds ``'filename'`` (string ``[B]``).

Sources (``source``): TFRecords or an image folder, :mod:`gain_tf.image_sources`.

Training (:func:`train_dataset`): shard files are shuffled and read interleaved
(``Dataset.interleave``, ``num_parallel_calls=AUTOTUNE``), records shuffled, decoded in parallel,
resized when their shorter side is not ``image_size`` (images built with ``--keep_larger`` only get
cropped), randomly cropped to ``S x S`` and flipped left-right; paired with a mask, batched with
``drop_remainder=True`` and prefetched. All per-example randomness is stateless and seeded by
``(seed, element index)``, so ``deterministic=True`` (a fixed seed, deterministic interleave / map
order) gives the same batches run to run; ``deterministic=False`` lets tf.data reorder for speed.

Training masks (``masks``): free-form, irregular, a folder of mask images or an array, as
described in :mod:`gain_tf.train_masks`.

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

import os
import random as _random

import tensorflow as tf
from absl import logging as _log

from gain_tf import mask_files as _mask_files
from gain_tf import masks as _masks
from gain_tf.image_sources import (RECORD_FEATURES, center_crop_tf, decode_encoded, read_file,
                                   resize_shorter_tf, resolve_source)
from gain_tf.images import to_model_range
from gain_tf.train_masks import DEFAULT_MASK_POOL_SIZE, seed_base, train_mask_dataset

AUTOTUNE = tf.data.AUTOTUNE


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
    base = seed_base(seed, pipeline_id)

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
            img, name = decode_encoded(ex["image/encoded"]), ex["image/filename"]
        else:
            img, name = read_file(x, max(size, max_shorter_side)), x
        return i, img, name

    def augment(i, img, name):
        seed_i = tf.stack([tf.constant(base, tf.int64), i])
        if max_shorter_side > size:
            short = tf.reduce_min(tf.shape(img)[:2])
            top = tf.maximum(tf.minimum(short, int(max_shorter_side)), size)
            target = tf.random.stateless_uniform([], seed_i + [0, 2], size, top + 1, tf.int32)
            img = resize_shorter_tf(img, target)
        elif resize_shorter:
            img = resize_shorter_tf(img, size)
        else:
            img = tf.cond(tf.reduce_min(tf.shape(img)[:2]) < size, lambda: resize_shorter_tf(img, size),
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
    for path in _mask_files.list_mask_files(mask_dir):
        if _masks.in_bucket(_masks.hole_ratio(_mask_files.load_mask_file(path, size)), bucket):
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
            return resize_shorter_tf(decode_encoded(ex["image/encoded"]), size), ex["image/filename"]
    else:
        def load(x):
            return read_file(x, size), x

    ds = ds.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    if kind == "images":
        ds = ds.filter(lambda img, name: tf.size(img) > 0)
    if count is not None:
        ds = ds.take(int(count))

    if mask_dir is not None:
        mask_files = bucket_mask_files(mask_dir, (lo, hi), size, count)

        def mask_np(i):
            return _mask_files.load_mask_file(mask_files[int(i) % len(mask_files)], size)
    else:
        def mask_np(i):
            return _masks.bucket_mask((lo, hi), int(i), size, size, seed)

    def pair(i, item):
        img, name = item
        valid = tf.numpy_function(mask_np, [i], tf.float32, stateful=False)
        valid.set_shape([size, size, 1])
        img = center_crop_tf(img, size)
        img.set_shape([size, size, 3])
        return {"image": to_model_range(img), "valid": valid, "filename": name}

    ds = ds.enumerate().map(pair, num_parallel_calls=AUTOTUNE, deterministic=True)
    ds = ds.batch(int(batch_size), drop_remainder=False).prefetch(AUTOTUNE)
    opts = tf.data.Options()
    opts.deterministic = True
    return ds.with_options(opts)
