"""`make demo`'s data: built-in procedural scenes, or a folder of your own images split into
training and held-out images, written as TFRecords (``python -m experiments.demo``)."""
from __future__ import annotations

import os
import random

from absl.app import UsageError


def prepare_data(out, data, size, num_train, num_eval, seed, say=print):
    """The demo's data in ``out/data``: returns (TFRecord folder for training, held-out evaluation
    folder or records). ``data=None``: procedural scenes; else a folder of your images, 10 %
    (at least 8) held out. ``say`` prints progress."""
    from data_prep.build_tfrecords import build
    from gain_tf.images import atomic_write_bytes, list_image_files
    from gain_tf.synthetic import write_scene_folder
    records = os.path.join(out, "data", "records")
    if data is None:
        train_dir = os.path.join(out, "data", "scenes_train")
        eval_dir = os.path.join(out, "data", "scenes_heldout")
        say(f"generating {num_train} + {num_eval} procedural scenes ({size}x{size})")
        write_scene_folder(train_dir, num_train, size=size, seed=seed)
        write_scene_folder(eval_dir, num_eval, size=size, seed=seed + 1)
        build("folder", train_dir, records, resolution=size, split="train", workers=1,
              progress=False)
        return records, eval_dir
    files = list_image_files(data)
    if len(files) < 16:
        raise UsageError(f"--data={data}: found {len(files)} images, need at least 16")
    rng = random.Random(seed)
    order = list(files)
    rng.shuffle(order)
    n_eval = max(8, len(order) // 10)
    heldout = set(order[:n_eval])
    split_file = os.path.join(out, "data", "split.txt")
    lines = [f"{os.path.relpath(f, data)} {'val' if f in heldout else 'train'}" for f in files]
    atomic_write_bytes(split_file, ("\n".join(lines) + "\n").encode())
    say(f"{len(files)} images in {data}: {len(files) - n_eval} for training, "
          f"{n_eval} held out")
    build("folder", data, records, resolution=size, split="all", split_file=split_file,
          workers=2, progress=True)
    return records, os.path.join(records, "val-*.tfrecord")
