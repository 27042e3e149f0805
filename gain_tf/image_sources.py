"""Where training and evaluation images come from: TFRecords or an image folder, read in tf.data.

Sources (``source``):

* TFRecords written by ``python -m data_prep.build_tfrecords``: a glob (``records/train-*.tfrecord``),
  a list of files, or the output folder itself (then the shards of ``split`` are used, default
  ``train`` for training and ``val`` for evaluation, falling back to every shard in the folder).
* An image folder (searched recursively, :func:`gain_tf.images.list_image_files`), decoded with OpenCV; images
  are resized like the builder does (shorter side to ``image_size``); unreadable files are skipped.
"""
from __future__ import annotations

import glob as _glob
import os

import numpy as np
import tensorflow as tf

from gain_tf.images import ImageReadError, list_image_files, read_image, resize_shorter_side

RECORD_FEATURES = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/filename": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "image/label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
}
RECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfr")

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


def decode_encoded(encoded):
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


def read_file(path, size):
    """An image file in tf.data: uint8 ``[h, w, 3]``, shorter side ``size`` (empty when unreadable)."""
    img = tf.numpy_function(_read_file_np, [path, size], tf.uint8, stateful=False)
    img.set_shape([None, None, 3])
    return img


def resize_shorter_tf(img, size):
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


def center_crop_tf(img, size):
    """The centre ``size x size`` crop of ``[h, w, C]``."""
    shape = tf.shape(img)
    top, left = (shape[0] - size) // 2, (shape[1] - size) // 2
    return img[top:top + size, left:left + size, :]
