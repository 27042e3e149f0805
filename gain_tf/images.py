"""Image value ranges and file I/O, in one place.

Inside the network images are float RGB in [-1, 1]; on disk and at the SavedModel boundary they are
uint8 RGB in [0, 255]. Files are read and written with OpenCV (headless build), converted BGR<->RGB
here and nowhere else.
"""
from __future__ import annotations

import os
import tempfile

import cv2
import numpy as np
import tensorflow as tf

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file."""


def to_model_range(images_uint8):
    """uint8 [0, 255] -> float32 [-1, 1] (numpy or tensor)."""
    if isinstance(images_uint8, np.ndarray):
        return images_uint8.astype(np.float32) / 127.5 - 1.0
    return tf.cast(images_uint8, tf.float32) / 127.5 - 1.0


def to_uint8(images):
    """float [-1, 1] -> uint8 [0, 255], rounded and clipped (numpy or tensor)."""
    if isinstance(images, np.ndarray):
        return np.clip(np.round((images.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    x = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(x, 0.0, 255.0), tf.uint8)


def read_image(path: str) -> np.ndarray:
    """Reads an image file as uint8 RGB ``[H, W, 3]``; raises :class:`ImageReadError` naming it."""
    if not os.path.isfile(path):
        raise ImageReadError(f"{path}: no such file")
    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ImageReadError(f"{path}: not a readable image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_gray(path: str) -> np.ndarray:
    """Reads an image file as uint8 grayscale ``[H, W]``; raises :class:`ImageReadError` naming it."""
    if not os.path.isfile(path):
        raise ImageReadError(f"{path}: no such file")
    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    if img is None:
        raise ImageReadError(f"{path}: not a readable image")
    return img


def encode_png(image: np.ndarray) -> bytes:
    """uint8 RGB ``[H, W, 3]`` or gray ``[H, W]`` / ``[H, W, 1]`` -> PNG bytes."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError("could not encode PNG")
    return buf.tobytes()


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename: never a half-written file."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_png(path: str, image: np.ndarray) -> None:
    """Writes uint8 RGB / gray ``image`` as a PNG, atomically."""
    atomic_write_bytes(path, encode_png(image))
