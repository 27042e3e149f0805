"""Per-image scores on RGB [0, 255]: relative L1, PSNR and SSIM (docs/design.md, 'Deviations and choices')."""
# Every score takes RGB images in [0, 255] (uint8 or float), numpy in / numpy out, either one image
# ``[H, W, 3]`` (a Python float comes back) or a batch ``[B, H, W, 3]`` (a ``[B]`` array comes back,
# except for the pooled :func:`relative_l1`). Computation is in float64.
#
# * relative L1 = ``Σ|out − gt| / Σ|gt|`` (not EdgeConnect's ``Σ(gt + out)`` denominator);
# * PSNR on RGB, ``max_val`` 255, capped at :data:`PSNR_CAP_DB`;
# * SSIM on RGB, 11 × 11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, mean over channels and 'VALID'
#   positions (the definition of ``tf.image.ssim``, here in float64 numpy).
from __future__ import annotations

import math

import cv2
import numpy as np

# PSNR of identical (or nearly identical) images is reported as this many dB instead of +inf, so
# that means over a bucket stay finite. No realistic inpainting result comes near it.
PSNR_CAP_DB = 100.0

SSIM_FILTER_SIZE = 11
SSIM_FILTER_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _as_batch(x) -> tuple:
    """-> (float64 [B, H, W, C] array, was_single)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim == 3:
        return a[None], True
    if a.ndim != 4:
        raise ValueError(f"expected an image [H, W, C] or a batch [B, H, W, C], got shape {a.shape}")
    return a, False


def _pair(out, gt):
    o, single = _as_batch(out)
    g, _ = _as_batch(gt)
    if o.shape != g.shape:
        raise ValueError(f"shape mismatch: out {o.shape} vs gt {g.shape}")
    return o, g, single


def _ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return 0.0 if num == 0 else math.inf


def _ret(values: np.ndarray, single: bool):
    return float(values[0]) if single else values


# --------------------------------------------------------------------------------------- relative L1
def relative_l1(out, gt) -> float:
    """Pooled relative L1 error ``Σ|out − gt| / Σ|gt|`` over everything given (all images, pixels,
    channels), on [0, 255]. A batch gives one number (the ratio of sums, not a mean of ratios).
    An all-black ``gt`` gives 0 when ``out == gt`` and ``inf`` otherwise.
    """
    o, g, _ = _pair(out, gt)
    return _ratio(float(np.abs(o - g).sum()), float(np.abs(g).sum()))


def relative_l1_sums(out, gt) -> tuple:
    """``(Σ|out − gt|, Σ|gt|)`` over everything given, for pooling across batches."""
    o, g, _ = _pair(out, gt)
    return float(np.abs(o - g).sum()), float(np.abs(g).sum())


def relative_l1_per_image(out, gt):
    """Per-image relative L1 ``Σ_{h,w,c}|out − gt| / Σ_{h,w,c}|gt|`` on [0, 255]; float or ``[B]``."""
    o, g, single = _pair(out, gt)
    num = np.abs(o - g).sum(axis=(1, 2, 3))
    den = np.abs(g).sum(axis=(1, 2, 3))
    vals = np.array([_ratio(n, d) for n, d in zip(num, den)], dtype=np.float64)
    return _ret(vals, single)


# ---------------------------------------------------------------------------------------------- PSNR
def psnr(out, gt, max_val: float = 255.0):
    """Per-image PSNR ``10 · log10(max_val² / MSE)``, MSE over all pixels and channels (RGB).

    Identical images (MSE 0) and anything above :data:`PSNR_CAP_DB` are reported as
    :data:`PSNR_CAP_DB` (100 dB). Returns a float for one image, a ``[B]`` array for a batch (the
    caller reports the mean).
    """
    o, g, single = _pair(out, gt)
    mse = np.mean((o - g) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        vals = 10.0 * np.log10(float(max_val) ** 2 / mse)
    vals = np.minimum(vals, PSNR_CAP_DB)
    return _ret(vals, single)


# ---------------------------------------------------------------------------------------------- SSIM
def _gaussian_1d(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 2-D Gaussian filtering of ``[B, H, W, C]`` over H and W, 'VALID' positions only
    (float64 ``cv2.sepFilter2D``; the border mode never reaches the kept positions)."""
    r = len(g) // 2
    out = np.empty((x.shape[0], x.shape[1] - 2 * r, x.shape[2] - 2 * r, x.shape[3]), np.float64)
    for b in range(x.shape[0]):
        for c0 in range(0, x.shape[3], 3):  # OpenCV filters up to 4 channels at a time
            y = cv2.sepFilter2D(np.ascontiguousarray(x[b, :, :, c0:c0 + 3]), cv2.CV_64F, g, g,
                                borderType=cv2.BORDER_REFLECT)
            if y.ndim == 2:
                y = y[..., None]
            out[b, :, :, c0:c0 + 3] = y[r:x.shape[1] - r, r:x.shape[2] - r]
    return out


def ssim(out, gt, max_val: float = 255.0):
    """Per-image SSIM on RGB [0, 255] (Wang et al. 2004), as ``tf.image.ssim`` defines it.

    With a normalised 11 × 11 Gaussian window ``w`` (σ = 1.5) and ``C1 = (K1·L)²``,
    ``C2 = (K2·L)²`` (K1 0.01, K2 0.03, L = ``max_val``), per channel and 'VALID' position:
    ``μx = w∗x``, ``σx² = w∗x² − μx²``, ``σxy = w∗(xy) − μx μy`` and
    ``SSIM = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))``; the result is the
    mean over channels and positions. Images must be at least 11 × 11. Float64 throughout.
    Returns a float for one image, a ``[B]`` array for a batch.
    """
    x, y, single = _pair(out, gt)
    if x.shape[1] < SSIM_FILTER_SIZE or x.shape[2] < SSIM_FILTER_SIZE:
        raise ValueError(f"SSIM needs images of at least {SSIM_FILTER_SIZE}x{SSIM_FILTER_SIZE}, "
                         f"got {x.shape[1:3]}")
    g = _gaussian_1d(SSIM_FILTER_SIZE, SSIM_FILTER_SIGMA)
    c1 = (SSIM_K1 * max_val) ** 2
    c2 = (SSIM_K2 * max_val) ** 2
    vals = []
    for i in range(0, x.shape[0], 8):  # a few images at a time bounds the float64 temporaries
        xs, ys = x[i:i + 8], y[i:i + 8]
        mx, my = _filter_valid(xs, g), _filter_valid(ys, g)
        sxx = _filter_valid(xs * xs, g) - mx * mx
        syy = _filter_valid(ys * ys, g) - my * my
        sxy = _filter_valid(xs * ys, g) - mx * my
        smap = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        vals.append(smap.mean(axis=(1, 2, 3)))
    return _ret(np.concatenate(vals), single)


# ------------------------------------------------------------------------------ gradients in the hole
def image_gradient_np(images) -> np.ndarray:
    """``∇I`` of RGB images on [0, 255] ``[B, H, W, 3]`` (or one image) -> float64 ``[B, H, W, 2]``
    ``(∂x, ∂y)``: the weights and kernels of :mod:`gain_tf.layers.gradient` (grayscale, Sobel / 8,
    symmetric border), in numpy on [0, 255], so the units are grey levels per pixel."""
    from gain_tf.layers.gradient import GRAY_WEIGHTS, SOBEL_X
    a, _ = _as_batch(images)
    gray = a @ np.asarray(GRAY_WEIGHTS)
    out = np.empty(gray.shape + (2,))
    for i, g in enumerate(gray):
        for c, kernel in enumerate((SOBEL_X, SOBEL_X.T)):      # correlation, as the TF conv
            out[i, ..., c] = cv2.filter2D(g, cv2.CV_64F, kernel.astype(np.float64),
                                          borderType=cv2.BORDER_REFLECT)
    return out


def gradient_hole_sums(grad, gt_grad, valid) -> tuple:
    """``(Σ|grad − ∇gt|, Σ‖grad‖, Σ‖∇gt‖, hole pixels)`` over the hole pixels of a batch.

    ``grad`` and ``gt_grad``: ``[B, H, W, 2]`` in the same units; ``valid`` ``[B, H, W, 1]`` (1 = known).
    The gradient L1 of a bucket is ``Σ|grad − ∇gt| / (2 · hole pixels)`` (mean over both
    components); its energy ratio ``Σ‖grad‖ / Σ‖∇gt‖`` (1 = as much structure as the truth).
    """
    hole = (np.asarray(valid, np.float64)[..., 0] < 0.5)
    g, t = np.asarray(grad, np.float64)[hole], np.asarray(gt_grad, np.float64)[hole]
    return (float(np.abs(g - t).sum()), float(np.linalg.norm(g, axis=-1).sum()),
            float(np.linalg.norm(t, axis=-1).sum()), int(hole.sum()))
