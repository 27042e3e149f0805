"""Image value ranges and file I/O, in one place.

Inside the network images are float RGB in [-1, 1]; on disk and at the SavedModel boundary they are
uint8 RGB in [0, 255]. Files are read and written here with OpenCV (headless build), whose arrays
are BGR: these functions convert, so what they return and take is RGB.
"""
from __future__ import annotations

import os
import tempfile

import cv2
import numpy as np
import tensorflow as tf

from gain_tf import DEFAULT_MAX_PIXELS

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


def read_image(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS, alpha: bool = False) -> np.ndarray:
    """Reads an image file as uint8 RGB ``[H, W, 3]``; raises :class:`ImageReadError` naming it.

    Grayscale files are replicated to three channels and an alpha channel is dropped (not
    composited), unless ``alpha``: then a file with transparency (an alpha channel, or a palette
    with a transparent entry) gives RGBA ``[H, W, 4]``. 16-bit PNGs are converted to 8 bits (the
    high byte: ``v >> 8``). Empty, truncated and over-large files are refused as in
    :func:`decode_image_bytes`.
    """
    return decode_image_bytes(_read_bytes(path), path, max_pixels=max_pixels, alpha=alpha)


def read_gray(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Reads an image file as uint8 grayscale ``[H, W]``; raises :class:`ImageReadError` naming it.

    Colour files are converted to luminance, 16-bit files to 8 bits (the high byte); empty,
    truncated and over-large files are refused as in :func:`decode_image_bytes`.
    """
    return decode_image_bytes(_read_bytes(path), path, max_pixels=max_pixels, gray=True)


def _read_bytes(path: str) -> np.ndarray:
    if os.path.isdir(path):
        raise ImageReadError(f"{path}: is a folder, not an image file")
    if not os.path.isfile(path):
        raise ImageReadError(f"{path}: no such file")
    try:
        return np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise ImageReadError(f"{path}: {e.strerror or e}") from None


def image_header_size(data) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG IHDR or JPEG SOF header, without decoding; None for other
    formats or when the header cannot be found."""
    head = bytes(data[:32])
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        if len(head) >= 24 and head[12:16] == b"IHDR":
            return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        return None
    if head[:2] != b"\xff\xd8":
        return None
    buf = memoryview(data) if not isinstance(data, np.ndarray) else memoryview(data.tobytes())
    i, n = 2, len(buf)
    while i + 4 <= n:
        if buf[i] != 0xFF:
            return None
        while i < n and buf[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return None
        marker = buf[i]
        i += 1
        if marker in (0x01, *range(0xD0, 0xDA)):  # standalone markers
            continue
        if i + 2 > n:
            return None
        length = (buf[i] << 8) | buf[i + 1]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if i + 7 > n:
                return None
            return (buf[i + 5] << 8) | buf[i + 6], (buf[i + 3] << 8) | buf[i + 4]
        if length < 2:
            return None
        i += length
    return None


def check_pixel_limit(data, name: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """Refuses (:class:`ImageReadError` naming ``name``) a PNG / JPEG whose header says it has more
    than ``max_pixels`` pixels, before any decoding; None or 0 = no limit. Other formats are
    checked after decoding (in :func:`decode_image_bytes`)."""
    if not max_pixels:
        return
    size = image_header_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise ImageReadError(pixel_limit_message(name, size[0], size[1], max_pixels))


def pixel_limit_message(name: str, width: int, height: int, max_pixels: int) -> str:
    return (f"{name}: {width}x{height} is {width * height} pixels, more than the limit of "
            f"{int(max_pixels)} (--max_pixels)")


def encode_png(image: np.ndarray) -> bytes:
    """uint8 RGB ``[H, W, 3]`` or gray ``[H, W]`` / ``[H, W, 1]`` -> PNG bytes."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError("could not encode PNG")
    return buf.tobytes()


def give_usual_mode(path: str) -> None:
    """Gives a file or folder made by :mod:`tempfile` (0600 / 0700) the mode a plain ``open`` or
    ``mkdir`` would have (0666 / 0777 less the umask), before it is renamed into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)


def atomic_write_bytes(path: str, data: bytes, check=None) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename: never a half-written file.

    ``check(tmp_path)``, if given, runs on the written temporary file (whose name ends like
    ``path``) before the rename; if it raises, nothing replaces ``path`` and the file is removed."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        give_usual_mode(tmp)  # mkstemp creates 0600
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_png(path: str, image: np.ndarray) -> None:
    """Writes uint8 RGB / gray ``image`` as a PNG, atomically."""
    atomic_write_bytes(path, encode_png(image))


def decode_image_bytes(data: bytes, name: str = "<bytes>", max_pixels: int | None = DEFAULT_MAX_PIXELS,
                       gray: bool = False, alpha: bool = False) -> np.ndarray:
    """Encoded image bytes -> uint8 RGB ``[H, W, 3]`` (``[H, W]`` with ``gray``; RGBA ``[H, W, 4]``
    with ``alpha`` when the file has transparency), refusing bad files.

    OpenCV decodes a truncated JPEG / PNG into a partly grey picture without an error, so a JPEG
    without its end-of-image marker or a PNG without its IEND chunk is rejected here. A PNG / JPEG
    whose header announces more than ``max_pixels`` pixels (default :data:`DEFAULT_MAX_PIXELS`;
    None or 0 = no limit) is refused before decoding (a decompression bomb); other formats are
    checked after decoding. Grayscale becomes RGB, alpha is dropped, 16-bit becomes 8-bit (the high
    byte). Raises :class:`ImageReadError` naming ``name``.
    """
    if data is None or len(data) == 0:
        raise ImageReadError(f"{name}: empty file")
    head = bytes(data[:8])
    if head[:2] == b"\xff\xd8" and bytes(data).rfind(b"\xff\xd9") < 2:
        raise ImageReadError(f"{name}: truncated JPEG (no end-of-image marker)")
    if head == b"\x89PNG\r\n\x1a\n" and bytes(data[-64:]).find(b"IEND") < 0:
        raise ImageReadError(f"{name}: truncated PNG (no IEND chunk)")
    check_pixel_limit(data, name, max_pixels)
    buf = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    img = None
    if alpha and not gray and head[:2] != b"\xff\xd8":   # a JPEG has no alpha (and has EXIF)
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if img is not None and not (img.ndim == 3 and img.shape[-1] == 4
                                    and img.dtype in (np.uint8, np.uint16)):
            img = None   # no alpha: decode as usual below (EXIF orientation, 8 bits, colour)
    if img is None:
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
    if img is None:
        raise ImageReadError(f"{name}: not a readable image")
    if max_pixels and img.shape[0] * img.shape[1] > max_pixels:
        raise ImageReadError(pixel_limit_message(name, img.shape[1], img.shape[0], max_pixels))
    if gray:
        return img
    if img.shape[-1] == 4:
        rgba = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
        return (rgba >> 8).astype(np.uint8) if rgba.dtype == np.uint16 else rgba
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """uint8 RGB ``[H, W, 3]`` -> JPEG bytes (4:2:0, ``quality``)."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", img, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise ValueError("could not encode JPEG")
    return buf.tobytes()


def resize_shorter_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resizes so the shorter side is ``size`` (aspect kept): INTER_AREA shrinking, INTER_CUBIC enlarging."""
    h, w = image.shape[:2]
    if min(h, w) == size:
        return image
    scale = size / min(h, w)
    nh, nw = (size, max(size, int(round(w * scale)))) if h <= w else (max(size, int(round(h * scale))), size)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, (nw, nh), interpolation=interp)


def center_crop(image: np.ndarray, height: int, width: int | None = None) -> np.ndarray:
    """The central ``height`` x ``width`` (default square) window of an ``[H, W, ...]`` array."""
    width = height if width is None else width
    h, w = image.shape[:2]
    if h < height or w < width:
        raise ValueError(f"cannot crop {height}x{width} from {h}x{w}")
    top, left = (h - height) // 2, (w - width) // 2
    return image[top:top + height, left:left + width]


def list_image_files(directory: str) -> list[str]:
    """Every image file under ``directory``, recursively, sorted; extensions :data:`IMAGE_EXTENSIONS`.

    Hidden files and folders (names starting with ``.``) are ignored. Raises ``FileNotFoundError``
    naming ``directory`` when it is not a directory.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{directory}: no such directory")
    found = []
    for root, dirs, files in os.walk(directory, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.join(root, name))
    return sorted(found)
