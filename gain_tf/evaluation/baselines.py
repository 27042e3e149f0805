"""Classical inpainting baselines: OpenCV's Telea and Navier–Stokes, known pixels kept exactly."""
# ``valid`` masks follow the library convention (1 = known, 0 = hole, see :mod:`gain_tf.masks`).
from __future__ import annotations

import cv2
import numpy as np

from gain_tf.masks import hole_mask_from_valid


def _inpaint_cv2(image_uint8, valid, radius: float, flag: int) -> np.ndarray:
    img = np.asarray(image_uint8)
    if img.dtype != np.uint8:
        raise ValueError(f"classical baselines take uint8 images, got {img.dtype}")
    v = np.asarray(valid)
    if img.ndim == 4:
        if v.ndim == 3:
            v = v[..., None]
        return np.stack([_inpaint_cv2(i, m, radius, flag) for i, m in zip(img, v)])
    if v.ndim == 3:
        v = v[..., 0]
    if v.shape != img.shape[:2]:
        raise ValueError(f"mask shape {v.shape} does not match image shape {img.shape[:2]}")
    hole = hole_mask_from_valid(v)  # uint8, 255 = hole
    filled = cv2.inpaint(np.ascontiguousarray(img), hole, float(radius), flag)
    if filled.ndim == 2 and img.ndim == 3:
        filled = filled[..., None]
    known = (v > 0.5)
    if img.ndim == 3:
        known = known[..., None]
    return np.where(known, img, filled).astype(np.uint8)


def inpaint_telea(image_uint8, valid, radius: float = 3) -> np.ndarray:
    """Telea's fast-marching inpainting (``cv2.inpaint``, ``cv2.INPAINT_TELEA``, radius 3).

    ``image_uint8`` ``[H, W, 3]`` (or a batch ``[B, H, W, 3]``), ``valid`` ``[H, W(, 1)]`` with
    1 = known. Known pixels are returned exactly; only holes are filled.
    """
    return _inpaint_cv2(image_uint8, valid, radius, cv2.INPAINT_TELEA)


def inpaint_navier_stokes(image_uint8, valid, radius: float = 3) -> np.ndarray:
    """Navier–Stokes inpainting (``cv2.inpaint``, ``cv2.INPAINT_NS``, radius 3); as :func:`inpaint_telea`."""
    return _inpaint_cv2(image_uint8, valid, radius, cv2.INPAINT_NS)
