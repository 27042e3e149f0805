"""Evaluation metrics, classical baselines and result tables (spec: "Evaluation protocol").

All metrics take RGB images in **[0, 255]** (uint8 or float), numpy in / numpy out, either one
image ``[H, W, 3]`` (a Python float comes back) or a batch ``[B, H, W, 3]`` (a ``[B]`` array comes
back, except for the pooled :func:`relative_l1`). Computation is in float64.

* relative L1 = ``Σ|out − gt| / Σ|gt|`` (not EdgeConnect's ``Σ(gt + out)`` denominator);
* PSNR on RGB, ``max_val`` 255, capped at :data:`PSNR_CAP_DB`;
* SSIM on RGB, 11 × 11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, mean over channels and 'VALID'
  positions (the definition of ``tf.image.ssim``, here in float64 numpy);
* FID from Inception-v3 pool3 activations (2048-d), images resized (bilinear) to 299 × 299 and
  scaled to [-1, 1]; the weights come from a local file (:func:`load_inception`), nothing is
  downloaded. FID is only meaningful with ≥ 2 048 samples per set.

``valid`` masks follow the library convention (1 = known, 0 = hole, see :mod:`gain_tf.masks`).
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import cv2
import numpy as np
import tensorflow as tf
from absl import logging

from gain_tf.images import atomic_write_bytes
from gain_tf.masks import hole_mask_from_valid

# PSNR of identical (or nearly identical) images is reported as this many dB instead of +inf, so
# that means over a bucket stay finite. No realistic inpainting result comes near it.
PSNR_CAP_DB = 100.0

SSIM_FILTER_SIZE = 11
SSIM_FILTER_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03

INCEPTION_SIZE = 299
INCEPTION_DIM = 2048


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


# ----------------------------------------------------------------------------------------------- FID
class InceptionActivations:
    """Inception-v3 pool3 activations: ``images [N, H, W, 3]`` in [0, 255] -> float64 ``[N, 2048]``.

    Images are resized (bilinear, no antialiasing) to 299 × 299, scaled to [-1, 1] (``x/127.5 − 1``)
    and run through ``model`` (``InceptionV3(include_top=False, pooling='avg')``) ``batch_size`` at a
    time. Build one with :func:`load_inception`.
    """

    def __init__(self, model: tf.keras.Model, batch_size: int = 32):
        self.model = model
        self.batch_size = int(batch_size)
        self._forward = tf.function(
            self._forward_impl,
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])

    def _forward_impl(self, images):
        x = tf.image.resize(images, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear", antialias=False)
        x = x / 127.5 - 1.0
        return self.model(x, training=False)

    def __call__(self, images) -> np.ndarray:
        a = np.asarray(images)
        if a.ndim == 3:
            a = a[None]
        if a.ndim != 4 or a.shape[-1] != 3:
            raise ValueError(f"expected RGB images [N, H, W, 3], got shape {a.shape}")
        if a.shape[0] == 0:
            return np.zeros((0, INCEPTION_DIM), np.float64)
        outs = []
        for i in range(0, a.shape[0], self.batch_size):
            batch = tf.constant(a[i:i + self.batch_size].astype(np.float32))
            outs.append(self._forward(batch).numpy().astype(np.float64))
        return np.concatenate(outs, axis=0)


def load_inception(weights_path: Optional[str], batch_size: int = 32) -> Optional[InceptionActivations]:
    """Builds Inception-v3 (no top, average pooling, 299 × 299) from a local Keras weights file.

    Returns ``None`` with a one-line logged warning when ``weights_path`` is empty, missing, or the
    file cannot be loaded (corrupt, wrong architecture; the note names the file): FID is then
    reported as "n/a". Never downloads anything and never raises for a bad file.
    """
    if not weights_path:
        logging.warning("FID skipped: no Inception-v3 weights file given")
        return None
    if not os.path.isfile(weights_path):
        logging.warning("FID skipped: Inception-v3 weights file %s not found", weights_path)
        return None
    if weights_path.lower().endswith((".h5", ".hdf5")):
        import h5py  # a Keras dependency; checking the signature avoids building the net for nothing

        if not h5py.is_hdf5(weights_path):
            logging.warning("FID skipped: could not load Inception-v3 weights from %s (not an HDF5 file)",
                            weights_path)
            return None
    try:
        model = tf.keras.applications.InceptionV3(
            include_top=False, pooling="avg", weights=weights_path,
            input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    except Exception as e:  # corrupt or mismatched file: skip FID, say which file and why
        msg = " ".join(str(e).split())[:200]
        logging.warning("FID skipped: could not load Inception-v3 weights from %s (%s: %s)",
                        weights_path, type(e).__name__, msg)
        return None
    return InceptionActivations(model, batch_size=batch_size)


def _frechet_distance_gram(a1: np.ndarray, a2: np.ndarray) -> float:
    """The same Fréchet distance through the ``N1 × N2`` cross-Gram matrix (exact, cheap for N < D).

    With centred activations ``X1, X2`` and ``Σi = Xiᵀ Xi / (Ni − 1)``, the non-zero eigenvalues of
    ``Σ1 Σ2`` are the squared singular values of ``X1 X2ᵀ / √((N1−1)(N2−1))``, so
    ``Tr (Σ1 Σ2)^½ = ||X1 X2ᵀ||_* / √((N1−1)(N2−1))`` (nuclear norm) and
    ``Tr Σi = ||Xi||²_F / (Ni − 1)``.
    """
    n1, n2 = a1.shape[0], a2.shape[0]
    mu1, mu2 = a1.mean(axis=0), a2.mean(axis=0)
    x1, x2 = a1 - mu1, a2 - mu2
    tr1 = float(np.sum(x1 * x1)) / (n1 - 1)
    tr2 = float(np.sum(x2 * x2)) / (n2 - 1)
    sv = np.linalg.svd(x1 @ x2.T, compute_uv=False)
    tr_sqrt = float(sv.sum()) / math.sqrt((n1 - 1) * (n2 - 1))
    return float(np.sum((mu1 - mu2) ** 2)) + tr1 + tr2 - 2.0 * tr_sqrt


def frechet_distance(act1, act2, method: str = "auto") -> float:
    """Fréchet distance between activation sets ``act1 [N1, D]`` and ``act2 [N2, D]``, float64.

    ``d² = ||μ1 − μ2||² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)``, sample means ``μ``, unbiased (``N − 1``)
    sample covariances ``Σ``.

    ``method``: ``"tfgan"`` uses ``tfgan.eval.frechet_classifier_distance_from_activations`` (through
    :mod:`gain_tf.ops.tfgan_eval`; two ``D × D`` SVDs, ~8 s each for D = 2048 on CPU); ``"gram"``
    computes the identical quantity exactly through the ``N1 × N2`` cross-Gram matrix (see
    :func:`_frechet_distance_gram`); ``"auto"`` (default) uses tensorflow-gan when both sets have at
    least ``D`` samples (the only regime where FID is meaningful) and the Gram form otherwise (small
    sets: tests, demos, small buckets). Round-off values a hair below 0 are returned as 0.
    Needs at least 2 samples per set.
    """
    a1 = np.asarray(act1, dtype=np.float64)
    a2 = np.asarray(act2, dtype=np.float64)
    if a1.ndim != 2 or a2.ndim != 2 or a1.shape[1] != a2.shape[1]:
        raise ValueError(f"expected activations [N1, D] and [N2, D], got {a1.shape} and {a2.shape}")
    if a1.shape[0] < 2 or a2.shape[0] < 2:
        raise ValueError(f"need at least 2 samples per set, got {a1.shape[0]} and {a2.shape[0]}")
    if method not in ("auto", "tfgan", "gram"):
        raise ValueError(f"method must be 'auto', 'tfgan' or 'gram', got {method!r}")
    if method == "auto":
        method = "tfgan" if min(a1.shape[0], a2.shape[0]) >= a1.shape[1] else "gram"
    if method == "tfgan":
        from gain_tf.ops import tfgan_eval  # tensorflow-gan stays behind that one module
        d = tfgan_eval.frechet_distance_from_activations(a1, a2)
    else:
        d = _frechet_distance_gram(a1, a2)
    return max(d, 0.0)


# --------------------------------------------------------------------------------- classical baselines
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


# ------------------------------------------------------------------------------------------ pictures
def masked_input_picture(image_uint8, valid) -> np.ndarray:
    """The network's input as a picture: known pixels unchanged, holes white (255).

    ``image_uint8`` ``[H, W, 3]`` or ``[B, H, W, 3]``; ``valid`` of the same rank with one channel
    (or without the channel axis), 1 = known.
    """
    img = np.asarray(image_uint8)
    v = np.asarray(valid)
    if v.ndim == img.ndim - 1:
        v = v[..., None]
    return np.where(v > 0.5, img, 255).astype(np.uint8)


def _to_rgb_uint8(img) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.clip(np.round(a.astype(np.float64)), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"expected an image [H, W], [H, W, 1] or [H, W, 3], got shape {a.shape}")
    return a


def make_grid(rows_of_images: Sequence[Sequence[np.ndarray]], labels: Optional[Sequence[str]] = None,
              separator: int = 2) -> np.ndarray:
    """Composes a uint8 RGB picture: one grid row per entry of ``rows_of_images``, one column per image
    (e.g. masked input | GAIN | Telea | ground truth), ``separator``-px white lines between cells.

    Cells are padded (white, bottom/right) to the largest image; gray images are shown as RGB,
    float images are taken as [0, 255]. ``labels`` (one per column) adds a white header strip with the
    column names in black.
    """
    rows = [[_to_rgb_uint8(im) for im in row] for row in rows_of_images]
    if not rows or not any(rows):
        raise ValueError("make_grid needs at least one image")
    ncols = max(len(r) for r in rows)
    ch = max(im.shape[0] for r in rows for im in r)
    cw = max(im.shape[1] for r in rows for im in r)
    s = int(separator)
    header = 0
    if labels:
        if len(labels) > ncols:
            raise ValueError(f"{len(labels)} labels for {ncols} columns")
        header = 22
    height = header + len(rows) * ch + (len(rows) - 1) * s
    width = ncols * cw + (ncols - 1) * s
    grid = np.full((height, width, 3), 255, np.uint8)
    for j, label in enumerate(labels or []):
        scale = 0.45
        (tw, _), _ = cv2.getTextSize(str(label), cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        if tw > cw - 4:  # shrink the label to fit a narrow column
            scale *= max(cw - 4, 1) / tw
            (tw, _), _ = cv2.getTextSize(str(label), cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        x0 = j * (cw + s) + max(0, (cw - tw) // 2)
        cv2.putText(grid, str(label), (x0, header - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    for i, row in enumerate(rows):
        y0 = header + i * (ch + s)
        for j, im in enumerate(row):
            x0 = j * (cw + s)
            grid[y0:y0 + im.shape[0], x0:x0 + im.shape[1]] = im
    return grid


# ------------------------------------------------------------------------------------ accumulation
def _natural_key(s: str):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(s)) if t]


ALL_BUCKETS = "all"


class _Acc:
    def __init__(self):
        self.l1_num = 0.0
        self.l1_den = 0.0
        self.ssim: List[float] = []
        self.psnr: List[float] = []
        self.acts: List[np.ndarray] = []

    def merge(self, other: "_Acc") -> None:
        self.l1_num += other.l1_num
        self.l1_den += other.l1_den
        self.ssim += other.ssim
        self.psnr += other.psnr
        self.acts += other.acts


class BucketMetrics:
    """Accumulates metrics per method × hole-ratio bucket (bucket labels are plain strings).

    For each method and bucket: the relative-L1 numerator and denominator (the reported value is the
    ratio of the sums), per-image SSIM and PSNR (reported as means) and, when an
    :class:`InceptionActivations` is given, Inception activations of the outputs. Activations of the
    ground truth are kept per bucket; FID of a (method, bucket) is between that method's outputs
    and all ground-truth images added to the bucket. :meth:`rows` adds an ``"all"`` bucket per
    method pooling every bucket when there is more than one.
    """

    def __init__(self, inception: Optional[InceptionActivations] = None):
        self.inception = inception
        self._acc: Dict[tuple, _Acc] = {}
        self._methods: List[str] = []
        self._ref: Dict[str, List[np.ndarray]] = {}

    def add(self, bucket: str, gt, outputs: Mapping[str, np.ndarray]) -> None:
        """Adds one batch: ground truth ``gt`` ``[B, H, W, 3]`` (or one image) and, per method name,
        that method's outputs of the same shape, all in [0, 255]."""
        bucket = str(bucket)
        g, _ = _as_batch(gt)
        if self.inception is not None:
            self._ref.setdefault(bucket, []).append(self.inception(g).astype(np.float32))
        for method, out in outputs.items():
            o, _ = _as_batch(out)
            if o.shape != g.shape:
                raise ValueError(f"{method}: output shape {o.shape} vs ground truth {g.shape}")
            if method not in self._methods:
                self._methods.append(method)
            acc = self._acc.setdefault((method, bucket), _Acc())
            num, den = relative_l1_sums(o, g)
            acc.l1_num += num
            acc.l1_den += den
            acc.ssim += [float(v) for v in ssim(o, g)]
            acc.psnr += [float(v) for v in psnr(o, g)]
            if self.inception is not None:
                acc.acts.append(self.inception(o).astype(np.float32))

    def _row(self, method: str, bucket: str, acc: _Acc, ref: List[np.ndarray]) -> dict:
        fid = None
        if self.inception is not None and acc.acts and ref:
            a1, a2 = np.concatenate(acc.acts), np.concatenate(ref)
            if a1.shape[0] >= 2 and a2.shape[0] >= 2:
                fid = frechet_distance(a1, a2)
        return {
            "method": method, "bucket": bucket, "n": len(acc.ssim),
            "relative_l1": _ratio(acc.l1_num, acc.l1_den),
            "ssim": float(np.mean(acc.ssim)) if acc.ssim else math.nan,
            "psnr": float(np.mean(acc.psnr)) if acc.psnr else math.nan,
            "fid": fid,
        }

    def rows(self) -> List[dict]:
        """Table rows ``{method, bucket, n, relative_l1 (fraction), ssim, psnr, fid (float or None)}``,
        methods in the order first added, buckets in natural order, then ``"all"``."""
        buckets = sorted({b for (_, b) in self._acc}, key=_natural_key)
        out = []
        for method in self._methods:
            total, ref_all, nb = _Acc(), [], 0
            for b in buckets:
                acc = self._acc.get((method, b))
                if acc is None:
                    continue
                nb += 1
                out.append(self._row(method, b, acc, self._ref.get(b, [])))
                total.merge(acc)
                ref_all += self._ref.get(b, [])
            if nb > 1:
                out.append(self._row(method, ALL_BUCKETS, total, ref_all))
        return out


def _fmt(v: Optional[float], digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}f}"


TABLE_COLUMNS = ("method", "bucket", "relative L1 (%)", "SSIM", "PSNR (dB)", "FID", "images")
CSV_COLUMNS = ("method", "bucket", "relative_l1_percent", "ssim", "psnr_db", "fid", "images")


def _table_cells(row: Mapping) -> list:
    return [str(row["method"]), str(row["bucket"]), _fmt(100.0 * row["relative_l1"], 2),
            _fmt(row["ssim"], 4), _fmt(row["psnr"], 2), _fmt(row.get("fid"), 2), str(row.get("n", ""))]


def write_tables(rows: Iterable[Mapping], out_dir: str) -> tuple:
    """Writes ``results.md`` (Markdown table) and ``results.csv`` into ``out_dir``, each atomically.

    Columns: method, bucket, relative L1 (%) = 100 · Σ|out − gt| / Σ|gt|, SSIM, PSNR (dB), FID ("n/a"
    when not computed), images; the CSV has the same columns (``CSV_COLUMNS``) with 6 decimals.
    Returns the two paths.
    """
    rows = list(rows)
    cells = [_table_cells(r) for r in rows]
    md = ["# Inpainting results", "",
          "Relative L1 = Σ|out − gt| / Σ|gt| on [0, 255]; PSNR and SSIM on RGB [0, 255] (SSIM: 11×11 "
          "Gaussian window, σ 1.5); FID from Inception-v3 pool3 activations at 299×299 "
          "(meaningful only with ≥ 2048 images).", "",
          "| " + " | ".join(TABLE_COLUMNS) + " |",
          "|" + "|".join(["---"] * 2 + ["---:"] * (len(TABLE_COLUMNS) - 2)) + "|"]
    md += ["| " + " | ".join(c) + " |" for c in cells]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([r["method"], r["bucket"], _fmt(100.0 * r["relative_l1"], 6), _fmt(r["ssim"], 6),
                         _fmt(r["psnr"], 6), _fmt(r.get("fid"), 6), r.get("n", "")])
    md_path = os.path.join(out_dir, "results.md")
    csv_path = os.path.join(out_dir, "results.csv")
    atomic_write_bytes(md_path, ("\n".join(md) + "\n").encode("utf-8"))
    atomic_write_bytes(csv_path, buf.getvalue().encode("utf-8"))
    return md_path, csv_path
