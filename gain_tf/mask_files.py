"""Masks read from files (NVIDIA irregular masks or any folder of mask images; white = hole),
and :func:`augment_mask`, their train-time augmentation (flip, rotation, dilation).

Files follow the user-facing convention of :mod:`gain_tf.masks` (white / > ``FILE_HOLE_THRESHOLD``
= hole), read by :func:`read_mask` (the CLI's masks too); what :func:`load_mask_file` returns is a
library valid mask ``[H, W, 1]`` float32 (1 = known).
"""
from __future__ import annotations

import cv2
import numpy as np
import tensorflow as tf

from gain_tf import DEFAULT_MAX_PIXELS
from gain_tf.images import IMAGE_EXTENSIONS, list_image_files, read_image
from gain_tf.masks import FILE_HOLE_THRESHOLD, valid_from_hole_mask


def _size_hw(size):
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


def read_mask(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A mask file's hole level, uint8 ``[H, W]``: a pixel is a hole where it is above
    ``FILE_HOLE_THRESHOLD``.

    The level is the largest of the colour channels (white, or any bright colour, is hole), times
    the alpha channel when the file has one: transparent pixels are kept, whatever colour they
    hide, as when a mask painted on a transparent layer is composited onto black. A file that is
    not an image raises :class:`gain_tf.images.ImageReadError` naming it.
    """
    img = read_image(path, max_pixels=max_pixels, alpha=True)
    level = img[..., :3].max(axis=-1)
    if img.shape[-1] == 4:
        level = ((level.astype(np.uint16) * img[..., 3] + 127) // 255).astype(np.uint8)
    return level


def load_mask_file(path: str, size=None) -> np.ndarray:
    """Reads a mask image (:func:`read_mask`) -> valid ``[H, W, 1]`` float32 (1 = known).

    ``size`` (int or ``(height, width)``) resizes with nearest neighbour before thresholding.
    """
    level = read_mask(path)
    hw = _size_hw(size)
    if hw is not None and level.shape != hw:
        level = cv2.resize(level, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)
    return valid_from_hole_mask(level, threshold=FILE_HOLE_THRESHOLD, dtype=tf.float32)


def list_mask_files(directory: str) -> list[str]:
    """Every image file under ``directory`` (recursive, sorted); raises when there is none."""
    files = list_image_files(directory)
    if not files:
        raise FileNotFoundError(f"{directory}: no mask images (extensions "
                                f"{', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) found")
    return files


def augment_mask(valid: np.ndarray, rng: np.random.Generator, *, flip: bool = True,
                 rot90: bool = True, max_angle: float = 10.0, max_dilate: int = 3) -> np.ndarray:
    """Train-time augmentation of a valid mask ``[H, W, 1]`` -> same shape, float32 {0, 1}.

    Random left-right / up-down flips, a rotation by a multiple of 90° (only 0/180° when not
    square), a small rotation ``U(-max_angle, max_angle)`` degrees (nearest neighbour; pixels
    rotated in from outside are known), and a dilation of the holes by ``0..max_dilate`` px.
    """
    hole = (np.asarray(valid)[..., 0] <= 0.5).astype(np.uint8)
    h, w = hole.shape
    if flip:
        if rng.uniform() < 0.5:
            hole = hole[:, ::-1]
        if rng.uniform() < 0.5:
            hole = hole[::-1, :]
    if rot90:
        k = int(rng.integers(0, 4)) if h == w else 2 * int(rng.integers(0, 2))
        hole = np.rot90(hole, k)
    hole = np.ascontiguousarray(hole)
    if max_angle > 0:
        angle = float(rng.uniform(-max_angle, max_angle))
        m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
        hole = cv2.warpAffine(hole, m, (w, h), flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if max_dilate > 0:
        d = int(rng.integers(0, max_dilate + 1))
        if d > 0:
            hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * d + 1, 2 * d + 1)))
    return (1 - hole[..., None]).astype(np.float32)


class MaskFolder:
    """The mask images of a folder (recursive), e.g. NVIDIA's irregular mask dataset.

    ``MaskFolder(path, size=256)[i]`` is mask ``i`` (sorted by path) as a valid mask
    ``[size, size, 1]``; ``sample(rng)`` draws one at random with :func:`augment_mask`.
    """

    def __init__(self, path: str, size=None):
        self.path = path
        self.size = _size_hw(size)
        self.files = list_mask_files(path)

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int, size=None) -> np.ndarray:
        return load_mask_file(self.files[index], self.size if size is None else size)

    __getitem__ = load

    def sample(self, rng: np.random.Generator, size=None, augment: bool = True, **aug_kwargs) -> np.ndarray:
        valid = self.load(int(rng.integers(0, len(self.files))), size)
        return augment_mask(valid, rng, **aug_kwargs) if augment else valid
