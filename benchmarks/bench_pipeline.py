"""Training input pipeline speed: images/s at 256x256 with free-form masks (target >= 800 images/s).

Builds a temporary TFRecord set of ``--images`` generated 256x256 JPEGs (quality 95, smooth random
pictures with some texture, so the files are photo-sized) with ``data_prep.build_tfrecords``, then
times ``gain_tf.data.train_dataset`` (batch 16, free-form masks from the pool, shuffling, random
crop / flip, decode each step: no cache of decoded images) over ``--batches`` batches after a
warm-up. Also printed for context: the decode-only rate (parse + JPEG decode, no masks, no
batching) and the mask pool's one-off generation time.

    python benchmarks/bench_pipeline.py [--images 256] [--batches 300] [--batch_size 16]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from data_prep.build_tfrecords import build  # noqa: E402
from gain_tf import data, image_sources, train_masks  # noqa: E402


def make_images(folder: str, count: int, size: int, seed: int = 0) -> None:
    """``count`` photo-like PNGs: upsampled coloured noise (smooth regions) plus fine texture."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        low = rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8)
        img = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.int16)
        img += rng.integers(-12, 13, img.shape, dtype=np.int16)
        cv2.imwrite(os.path.join(folder, f"{i:05d}.png"), np.clip(img, 0, 255).astype(np.uint8))


def rate(iterator, batches: int, per_batch: int, warmup: int) -> tuple[float, float]:
    """(images/s wall clock, CPU ms of this process per image) over ``batches`` after ``warmup``."""
    for _ in range(warmup):
        next(iterator)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(batches):
        next(iterator)
    n = batches * per_batch
    return n / (time.perf_counter() - t0), (time.process_time() - c0) / n * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=30)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench_pipeline_")
    try:
        make_images(os.path.join(tmp, "src"), args.images, args.size)
        build("folder", os.path.join(tmp, "src"), os.path.join(tmp, "rec"), resolution=args.size,
              split="train", num_shards=8, workers=1, fmt="jpeg", progress=False)
        pattern = os.path.join(tmp, "rec", "train-*.tfrecord")
        nbytes = sum(os.path.getsize(f) for f in tf.io.gfile.glob(pattern))
        print(f"records: {args.images} JPEGs {args.size}x{args.size}, {nbytes / args.images / 1024:.1f} KiB each; "
              f"{os.cpu_count()} CPUs")

        t0 = time.perf_counter()
        train_masks.free_form_pool(args.size, train_masks.DEFAULT_MASK_POOL_SIZE, seed=0)
        print(f"mask pool: {train_masks.DEFAULT_MASK_POOL_SIZE} free-form masks generated in "
              f"{time.perf_counter() - t0:.2f} s (once per process)")

        decode = (tf.data.Dataset.list_files(pattern, shuffle=False).repeat()
                  .interleave(tf.data.TFRecordDataset, cycle_length=8, num_parallel_calls=tf.data.AUTOTUNE,
                              deterministic=False)
                  .map(lambda x: image_sources.decode_encoded(tf.io.parse_single_example(x, image_sources.RECORD_FEATURES)
                                                      ["image/encoded"]),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
                  .prefetch(tf.data.AUTOTUNE))
        dec, dec_cpu = rate(iter(decode), args.batches * args.batch_size, 1, args.warmup * args.batch_size)
        print(f"decode only (parse + JPEG decode, no consumer work): {dec:.0f} images/s "
              f"({dec_cpu:.2f} CPU ms/image)")

        ds = data.train_dataset(pattern, args.batch_size, args.size, masks="free_form", seed=0)
        it = iter(ds)
        b = next(it)
        assert b["image"].shape == (args.batch_size, args.size, args.size, 3)
        r, cpu = rate(it, args.batches, args.batch_size, args.warmup)
        print(f"train pipeline (batch {args.batch_size}, {args.size}x{args.size}, free-form masks): "
              f"{r:.0f} images/s  (target >= 800; {cpu:.2f} CPU ms/image, i.e. about "
              f"{(os.cpu_count() or 1) * 1e3 / cpu:.0f} images/s if all {os.cpu_count()} CPUs were free)")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
