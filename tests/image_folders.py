"""A module-scoped folder of small images built into TFRecords (train, val, one shard, larger
JPEG) and a mask folder, shared by the data-pipeline tests."""
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from data_prep.build_tfrecords import build

S = 32
N_IMAGES = 12


def make_images(folder, n, rng, h=40, w=48):
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        img = np.full((h, w, 3), (i * 20) % 256, np.uint8)  # each image has its own grey level
        img[::2, ::3] = rng.integers(0, 256, 3, dtype=np.uint8)
        cv2.imwrite(os.path.join(folder, f"img{i:02d}.png"), img)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    make_images(str(root / "src"), N_IMAGES, rng)
    build("folder", str(root / "src"), str(root / "rec"), resolution=S, split="train", num_shards=3,
          workers=1, progress=False)
    build("folder", str(root / "src"), str(root / "val"), resolution=S, split="val", num_shards=2,
          workers=1, progress=False)  # not shuffled: records in sorted file order
    build("folder", str(root / "src"), str(root / "one"), resolution=S, split="train", num_shards=1,
          workers=1, progress=False)
    build("folder", str(root / "src"), str(root / "large"), resolution=S, split="train", num_shards=2,
          keep_larger=True, fmt="jpeg", workers=1, progress=False)
    for i in range(4):
        hole = np.zeros((64, 64), np.uint8)
        hole[8 * i:8 * i + 24, 10:40] = 255
        os.makedirs(root / "masks", exist_ok=True)
        cv2.imwrite(str(root / "masks" / f"{i}.png"), hole)
    return root


def take(ds, n):
    return [tf.nest.map_structure(lambda t: t.numpy(), b) for b in ds.take(n)]
