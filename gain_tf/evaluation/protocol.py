"""The evaluation protocol: a model against Telea and Navier–Stokes per hole-ratio bucket."""
# :func:`evaluate` runs an ``inpaint_fn`` (uint8 images ``[N,H,W,3]``, uint8 hole masks ``[N,H,W,1]``
# with 255 = hole -> uint8 inpainted images; e.g. :meth:`gain_tf.inference.Inpainter.inpaint`) on the
# deterministic evaluation set of :func:`gain_tf.data.eval_dataset` (the first ``num_images`` images,
# each with the seeded bucket mask of its index, or masks of a folder), and scores it with
# :class:`BucketMetrics` (relative L1, SSIM, PSNR on the uint8 composite, FID when Inception weights
# are given), next to Telea and Navier–Stokes on the same images and masks. It writes
# ``results.md`` / ``results.csv`` (:func:`gain_tf.evaluation.report.write_tables`) and one picture
# grid per bucket (masked input | model | Telea | Navier–Stokes | ground truth, then the truth's and
# the predicted gradient magnitude when the model predicts one). See docs/evaluation.md, 'Evaluate'
# and 'Deviations and choices' (Evaluation).
#
# For ablations: ``method_name`` labels the model's rows; ``baselines=False`` skips the classical
# methods (run them once with ``inpaint_fn=None``); ``inception`` passes an already loaded
# :class:`gain_tf.evaluation.fid.InceptionActivations` so it is built once for several models.
from __future__ import annotations

import math
import os
import re
import sys
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from gain_tf.data import eval_dataset
from gain_tf.evaluation.baselines import inpaint_navier_stokes, inpaint_telea
from gain_tf.evaluation.fid import InceptionActivations, frechet_distance, load_inception
from gain_tf.evaluation.report import write_tables
from gain_tf.evaluation.scores import (_as_batch, _ratio, gradient_hole_sums, image_gradient_np, psnr,
                                       relative_l1_sums, ssim)
from gain_tf.images import to_uint8, write_png
from gain_tf.masks import BUCKETS, bucket_name, hole_mask_from_valid
from gain_tf.pictures import (guidance_gray, magnitude, magnitude_scale, make_grid,
                              masked_input_picture, to_gray_uint8)
from gain_tf.progress import Progress

TELEA = "Telea"
NAVIER_STOKES = "Navier-Stokes"
ALL_BUCKETS = "all"
ZERO_GRADIENT = "zero gradient ∇"
GREY_PER_UNIT = 127.5      # a model-range ([-1, 1]) gradient in grey levels ([0, 255]) per pixel


# ------------------------------------------------------------------------------------ accumulation
def _natural_key(s: str):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(s)) if t]


class _Acc:
    def __init__(self):
        self.n = 0
        self.l1_num = 0.0
        self.l1_den = 0.0
        self.ssim: List[float] = []
        self.psnr: List[float] = []
        self.acts: List[np.ndarray] = []
        self.grad = np.zeros(4)          # gradient_hole_sums, summed

    def merge(self, other: "_Acc") -> None:
        self.n += other.n
        self.l1_num += other.l1_num
        self.l1_den += other.l1_den
        self.ssim += other.ssim
        self.psnr += other.psnr
        self.acts += other.acts
        self.grad = self.grad + other.grad


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

    def _acc_of(self, method: str, bucket: str) -> _Acc:
        if method not in self._methods:
            self._methods.append(method)
        return self._acc.setdefault((method, bucket), _Acc())

    def add(self, bucket: str, gt, outputs: Mapping[str, np.ndarray], valid=None,
            gradients: Optional[Mapping[str, np.ndarray]] = None) -> None:
        """Adds one batch: ground truth ``gt`` ``[B, H, W, 3]`` (or one image) and, per method name,
        that method's outputs of the same shape, all in [0, 255].

        With the batch's ``valid`` mask ``[B, H, W, 1]`` (1 = known) it also scores, in the hole,
        the gradient of each output and, per name in ``gradients``, a predicted gradient map
        ``[B, H, W, 2]`` in grey levels per pixel (such rows have no image scores)."""
        bucket = str(bucket)
        g, _ = _as_batch(gt)
        gt_grad = image_gradient_np(g) if valid is not None else None
        if self.inception is not None:
            self._ref.setdefault(bucket, []).append(self.inception(g).astype(np.float32))
        for method, out in outputs.items():
            o, _ = _as_batch(out)
            if o.shape != g.shape:
                raise ValueError(f"{method}: output shape {o.shape} vs ground truth {g.shape}")
            acc = self._acc_of(method, bucket)
            acc.n += g.shape[0]
            if valid is not None:
                acc.grad = acc.grad + gradient_hole_sums(image_gradient_np(o), gt_grad, valid)
            num, den = relative_l1_sums(o, g)
            acc.l1_num += num
            acc.l1_den += den
            acc.ssim += [float(v) for v in ssim(o, g)]
            acc.psnr += [float(v) for v in psnr(o, g)]
            if self.inception is not None:
                acc.acts.append(self.inception(o).astype(np.float32))
        for method, grad in (gradients or {}).items():
            acc = self._acc_of(method, bucket)
            acc.n += g.shape[0]
            acc.grad = acc.grad + gradient_hole_sums(grad, gt_grad, valid)

    def _row(self, method: str, bucket: str, acc: _Acc, ref: List[np.ndarray]) -> dict:
        fid = None
        if self.inception is not None and acc.acts and ref:
            a1, a2 = np.concatenate(acc.acts), np.concatenate(ref)
            if a1.shape[0] >= 2 and a2.shape[0] >= 2:
                fid = frechet_distance(a1, a2)
        l1, norm, ref_norm, pixels = acc.grad
        return {
            "method": method, "bucket": bucket, "n": acc.n,
            "relative_l1": _ratio(acc.l1_num, acc.l1_den) if acc.ssim else math.nan,
            "ssim": float(np.mean(acc.ssim)) if acc.ssim else math.nan,
            "psnr": float(np.mean(acc.psnr)) if acc.psnr else math.nan,
            "fid": fid,
            "grad_energy": _ratio(norm, ref_norm) if pixels else None,
            "grad_l1": l1 / (2 * pixels) if pixels else None,
        }

    def rows(self) -> List[dict]:
        """Table rows ``{method, bucket, n, relative_l1 (fraction), ssim, psnr, fid, grad_energy,
        grad_l1 (float or None)}``,
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


# ---------------------------------------------------------------------------------------- protocol
def parse_buckets(text: Optional[str]) -> tuple:
    """``"10-20,30-40"`` (percent) -> ``((0.1, 0.2), (0.3, 0.4))``; empty / ``None`` / ``"all"`` -> all five."""
    if not text or text.strip().lower() == "all":
        return tuple(BUCKETS)
    out = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*%?\s*", part)
        if not m:
            raise ValueError(f"--buckets: {part!r} is not a range like 10-20 (percent)")
        lo, hi = float(m.group(1)) / 100.0, float(m.group(2)) / 100.0
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"--buckets: {part!r} must satisfy 0 <= lo < hi <= 100")
        out.append((lo, hi))
    return tuple(out)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "model"


def grid_path(output_dir: str, method_name: str, bucket) -> str:
    """``<output_dir>/grid_<method>_<lo>-<hi>.png``."""
    lo, hi = bucket
    return os.path.join(output_dir, f"grid_{_slug(method_name)}_{int(round(lo * 100))}-{int(round(hi * 100))}.png")


def gradient_pictures(truth_uint8, predicted) -> list:
    """``[|∇I| of the truth, |∇I*| predicted]`` as gray uint8 pictures on one scale (the truth's
    :func:`gain_tf.pictures.magnitude_scale`); ``predicted`` ``[H, W, 2]`` in grey levels."""
    true = image_gradient_np(truth_uint8)[0]
    scale = magnitude_scale(magnitude(true))
    return [to_gray_uint8(guidance_gray(g, scale)) for g in (true, predicted)]


def evaluate(inpaint_fn: Optional[Callable], source, output_dir: str, image_size: int,
             buckets: Sequence = BUCKETS, num_images: int = 100, seed: int = 0,
             mask_dir: Optional[str] = None, inception_weights: Optional[str] = None,
             num_grid: int = 4, method_name: str = "GAIN", baselines: bool = True,
             batch_size: int = 8, inception=None, write: bool = True,
             progress_stream=None, about: Optional[dict] = None) -> List[dict]:
    """Scores ``inpaint_fn`` (and / or the classical baselines) per bucket; returns the table rows.

    Args:
      inpaint_fn: uint8 ``[N,H,W,3]`` images and uint8 ``[N,H,W,1]`` hole masks (255 = hole) ->
        uint8 ``[N,H,W,3]``, or a tuple ``(those images, the predicted gradient [N,H,W,2] in model
        units)``: its hole is then scored as the row ``"<method_name> ∇I*"`` beside the all-zero
        gradient; ``None`` runs only the baselines.
      source: TFRecord glob / folder or image folder (see :func:`gain_tf.data.eval_dataset`).
      output_dir: where ``results.md``, ``results.csv`` and the grids go.
      image_size: evaluation size (shorter side resized, centre crop).
      buckets: ``(lo, hi)`` hole-ratio buckets; num_images: images per bucket; seed: mask seed.
      mask_dir: a folder of mask images (white = hole) instead of seeded bucket masks.
      inception_weights: local Inception-v3 ``.h5`` for FID (skipped with a note without it);
        ``inception`` an already loaded :class:`gain_tf.evaluation.fid.InceptionActivations` instead.
      num_grid: example rows per bucket grid (0: no grids).
      method_name: the model's label in tables and grid names.
      baselines: also run Telea and Navier–Stokes.
      write: write the tables (the grids are written whenever ``num_grid`` > 0).
      about: what is scored (model, data, ...), listed above the Markdown table.
    Rows: see :meth:`BucketMetrics.rows`. A source with fewer than ``num_images`` images scores
    all of them in every bucket, with a warning.
    """
    if inpaint_fn is None and not baselines:
        raise ValueError("nothing to evaluate: no inpaint_fn and baselines=False")
    buckets = tuple(tuple(float(x) for x in b) for b in buckets)
    if not buckets:
        raise ValueError("no buckets given")
    if num_images < 1:
        raise ValueError(f"num_images must be positive, got {num_images}")
    if inception is None and inception_weights is not None:
        inception = load_inception(inception_weights)
    elif inception is None:
        load_inception(None)  # logs the one-line "FID skipped" note
    scores = BucketMetrics(inception)
    os.makedirs(output_dir, exist_ok=True)
    progress = Progress(total=len(buckets) * int(num_images), desc="evaluate",
                        stream=progress_stream if progress_stream is not None else sys.stderr)
    grid_name = method_name if inpaint_fn is not None else "baselines"
    try:
        for bucket in buckets:
            label = bucket_name(bucket)
            grid_rows, seen = [], 0
            ds = eval_dataset(source, image_size, bucket, count=int(num_images), seed=seed,
                              batch_size=batch_size, mask_dir=mask_dir)
            for batch in ds:
                gt = to_uint8(batch["image"].numpy())
                valid = batch["valid"].numpy()
                holes = hole_mask_from_valid(valid)
                outputs, gradients = {}, {}
                if inpaint_fn is not None:
                    out = inpaint_fn(gt, holes)
                    if isinstance(out, tuple):     # (images, predicted gradient in model units)
                        out, grad = out
                        gradients[f"{method_name} ∇I*"] = np.asarray(grad, np.float64) * GREY_PER_UNIT
                        gradients[ZERO_GRADIENT] = np.zeros_like(gradients[f"{method_name} ∇I*"])
                    out = np.asarray(out)
                    if out.shape != gt.shape or out.dtype != np.uint8:
                        raise ValueError(f"{method_name}: inpaint_fn returned {out.dtype} {out.shape}, "
                                         f"expected uint8 {gt.shape}")
                    outputs[method_name] = out
                if baselines:
                    outputs[TELEA] = inpaint_telea(gt, valid)
                    outputs[NAVIER_STOKES] = inpaint_navier_stokes(gt, valid)
                scores.add(label, gt, outputs, valid, gradients)
                predicted = gradients.get(f"{method_name} ∇I*")
                for i in range(min(gt.shape[0], num_grid - len(grid_rows))):
                    row = [masked_input_picture(gt[i], valid[i])]
                    row += [outputs[m][i] for m in (method_name, TELEA, NAVIER_STOKES) if m in outputs]
                    row.append(gt[i])
                    if predicted is not None:
                        row += gradient_pictures(gt[i], predicted[i])
                    grid_rows.append(row)
                seen += gt.shape[0]
                progress.update(gt.shape[0], bucket=label)
            if seen == 0:
                raise ValueError(f"{source}: no evaluation images found")
            if seen < num_images and progress.total == len(buckets) * int(num_images):
                progress.write(f"warning: {source}: {seen} images, fewer than num_images="
                               f"{num_images}: each bucket scores these {seen}")
                progress.total = len(buckets) * seen
            if grid_rows:
                labels = (["masked input"] + ([method_name] if inpaint_fn is not None else [])
                          + ([TELEA, NAVIER_STOKES] if baselines else []) + ["ground truth"])
                if len(grid_rows[0]) > len(labels):
                    labels += ["|grad| truth", f"|grad| {method_name}"]
                write_png(grid_path(output_dir, grid_name, bucket), make_grid(grid_rows, labels))
    finally:
        progress.close()
    rows = scores.rows()
    if write:
        write_tables(rows, output_dir, about)
    return rows
