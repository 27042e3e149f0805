"""The page's inputs and outputs: the editor's value, the input checks, and the output folder it writes to.

Pure functions, tested without a browser (``experiments/app.py`` is the page). Gradio is imported
only inside :func:`read_editor_payload`, which the page calls after :func:`prepare_environment`
has pointed Gradio's temporary folder into the output folder.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from datetime import datetime
from typing import Optional

import numpy as np

KEEP_RUNS = 20


# --------------------------------------------------------------------------------- the input
def _input_error(msg: str):
    from gain_tf.anysize import InpaintInputError
    return InpaintInputError(msg)


def _to_rgb(array) -> np.ndarray:
    """uint8 RGB ``[H,W,3]`` from an editor image: gray, RGB, or RGBA (flattened onto white)."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise _input_error(f"the photo has an unexpected shape {a.shape}")
    if a.shape[-1] == 1:
        return np.repeat(a, 3, axis=-1)
    if a.shape[-1] == 3:
        return a
    rgb = a[..., :3].astype(np.uint16)
    alpha = a[..., 3:4].astype(np.uint16)
    if np.all(alpha == 255):
        return np.ascontiguousarray(a[..., :3])
    return ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def split_editor_value(value) -> tuple:
    """A ``gr.ImageEditor`` value -> ``(image uint8 [H,W,3], hole mask uint8 [H,W] in {0, 255})``.

    ``value`` is ``{'background': array, 'layers': [RGBA arrays], 'composite': array}``: the
    background is the photo (RGBA is flattened onto white), and every pixel that any layer painted
    (alpha > 0, so a stroke's soft edge counts too) is hole. Raises
    :class:`gain_tf.anysize.InpaintInputError` when there is no photo or a layer's size differs.
    An unpainted photo gives an all-zero mask (``inpaint_image`` then says so).
    """
    if not isinstance(value, dict) or value.get("background") is None:
        raise _input_error("upload or paste a photo first, then paint the hole on it")
    image = _to_rgb(value["background"])
    h, w = image.shape[:2]
    hole = np.zeros((h, w), bool)
    for layer in value.get("layers") or []:
        if layer is None:
            continue
        layer = np.asarray(layer)
        if layer.shape[:2] != (h, w):
            raise _input_error(f"the painted layer is {layer.shape[1]}x{layer.shape[0]} but the "
                               f"photo is {w}x{h}: paint on the photo as uploaded")
        if layer.ndim == 3 and layer.shape[-1] == 4:
            painted = layer[..., 3] > 0
        elif layer.ndim == 3:
            painted = layer.any(axis=-1)
        else:
            painted = layer > 0
        hole |= painted
    return image, np.where(hole, 255, 0).astype(np.uint8)


def check_page_input(image: np.ndarray, hole: np.ndarray, max_pixels: int) -> None:
    """The page's own wording of ``inpaint_image``'s input checks, in the same order: a photo over
    ``max_pixels``, nothing painted, everything painted (:class:`InpaintInputError` each)."""
    h, w = hole.shape
    if h * w > max_pixels:
        raise _input_error(pixel_limit_message(w, h, max_pixels))
    if not np.any(hole):
        raise _input_error("nothing is painted: paint the hole on the photo with the brush, then "
                           "press Inpaint")
    if np.all(hole):
        raise _input_error("the painted hole covers the whole photo: leave some of it unpainted "
                           "to inpaint from")


def pixel_limit_message(width: int, height: int, max_pixels: int) -> str:
    return (f"the photo is {width}x{height} ({width * height / 1e6:.1f} megapixels), over this "
            f"page's limit of {max_pixels / 1e6:g} megapixels (--max_pixels): scale it down first")


def _background_size(component, payload) -> Optional[tuple]:
    """``(width, height)`` of the editor payload's background from its header only, or None."""
    import io

    from PIL import Image
    bg = getattr(payload, "background", None)
    if getattr(payload, "id", None) is not None:
        cached = component.blob_storage.get(payload.id)
        bg = cached.background if cached is not None else None
    if bg is None:
        return None
    source = io.BytesIO(bytes(bg)) if isinstance(bg, (bytes, bytearray, memoryview)) else bg.path
    with Image.open(source) as im:       # lazy: reads the header, not the pixels
        return im.size


def read_editor_payload(editor, payload, max_pixels: int):
    """The editor's value (see :func:`split_editor_value`) from its raw event payload (the click
    event runs with ``preprocess=False``), refusing bad uploads with one
    :class:`InpaintInputError` message each: not an image, or over ``max_pixels`` (checked from
    the file's header, before the pixels are decoded). Gradio has already checked that the files
    are its own uploads. (A subclass of ``gr.ImageEditor`` would do the same, but Gradio writes a
    ``.pyi`` stub beside the module of every component class, outside the output folder.)"""
    from gradio.components.image_editor import EditorData
    from PIL import Image

    if payload is None:
        return None
    data = payload if isinstance(payload, EditorData) else EditorData.model_validate(payload)
    bg = data.background
    name = f"{bg.orig_name}: " if bg is not None and getattr(bg, "orig_name", None) else ""
    bad = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
    try:
        size = _background_size(editor, data)
        if size is not None and size[0] * size[1] > max_pixels:
            raise _input_error(pixel_limit_message(size[0], size[1], max_pixels))
        return editor.preprocess(data)
    except bad as e:
        editor.blob_storage.pop(data.id, None)
        from gain_tf.anysize import InpaintInputError
        if isinstance(e, InpaintInputError):
            raise
        kind = ("too many pixels to decode" if isinstance(e, Image.DecompressionBombError)
                else "not an image this page can read (use PNG, JPEG, WebP, BMP or TIFF)")
        raise _input_error(f"{name}{kind}") from None


# ---------------------------------------------------------------------------- the output folder
def prepare_environment(output_dir: str) -> str:
    """Creates ``output_dir`` and points Gradio's uploads/cache (``GRADIO_TEMP_DIR``) and Python's
    temporary files into it, analytics off. Call before importing gradio. Returns the absolute path."""
    output_dir = os.path.abspath(output_dir)
    for sub in ("gradio_tmp", "tmp", "runs"):
        os.makedirs(os.path.join(output_dir, sub), exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(output_dir, "gradio_tmp")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["TMPDIR"] = os.path.join(output_dir, "tmp")
    tempfile.tempdir = os.environ["TMPDIR"]
    return output_dir


class RunRecorder:
    """Writes one folder per run under ``<output_dir>/runs`` (keeping the last ``keep``) and
    ``<output_dir>/last_run.json`` naming the newest."""

    def __init__(self, output_dir: str, keep: int = KEEP_RUNS):
        self.root = os.path.join(output_dir, "runs")
        self.last = os.path.join(output_dir, "last_run.json")
        self.keep = keep
        self._lock = threading.Lock()
        os.makedirs(self.root, exist_ok=True)

    def new_dir(self) -> str:
        with self._lock:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            path = os.path.join(self.root, stamp)
            os.makedirs(path)
            old = sorted(d for d in os.listdir(self.root)
                         if os.path.isdir(os.path.join(self.root, d)))[:-self.keep]
            for d in old:
                shutil.rmtree(os.path.join(self.root, d), ignore_errors=True)
            return path

    def finish(self, path: str, info: dict) -> None:
        from gain_tf.images import atomic_write_bytes
        data = json.dumps(dict(info, dir=path), indent=1).encode()
        atomic_write_bytes(os.path.join(path, "run.json"), data)
        atomic_write_bytes(self.last, data)


def save_png(path: str, image: np.ndarray) -> str:
    import cv2
    img = np.asarray(image)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(path, img, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"could not write {path}")
    return path
