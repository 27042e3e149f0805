"""Evaluation per hole-ratio bucket: a model against OpenCV's Telea and Navier–Stokes baselines.

:func:`evaluate` runs an ``inpaint_fn`` (uint8 images ``[N,H,W,3]``, uint8 hole masks ``[N,H,W,1]``
with 255 = hole -> uint8 inpainted images; e.g. :meth:`gain_tf.export.Inpainter.inpaint`) on the
deterministic evaluation set of :func:`gain_tf.data.eval_dataset` (the first ``num_images`` images,
each with the seeded bucket mask of its index, or masks of a folder), and scores it with
:class:`gain_tf.metrics.BucketMetrics` (relative L1, SSIM, PSNR on the uint8 composite, FID when
Inception weights are given), next to Telea and Navier–Stokes on the same images and masks.
It writes ``results.md`` / ``results.csv`` (:func:`gain_tf.metrics.write_tables`) and one picture
grid per bucket (masked input | model | Telea | ground truth).

For ablations: ``method_name`` labels the model's rows; ``baselines=False`` skips the classical
methods (run them once with ``inpaint_fn=None``); ``inception`` passes an already loaded
:class:`gain_tf.metrics.InceptionActivations` so it is built once for several models.
"""
from __future__ import annotations

import os
import re
import sys
from typing import Callable, List, Optional, Sequence

import numpy as np

from gain_tf import metrics as _metrics
from gain_tf.data import eval_dataset
from gain_tf.images import to_uint8, write_png
from gain_tf.masks import BUCKETS, bucket_name, hole_mask_from_valid
from gain_tf.progress import Progress

TELEA = "Telea"
NAVIER_STOKES = "Navier-Stokes"


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


def evaluate(inpaint_fn: Optional[Callable], source, output_dir: str, image_size: int,
             buckets: Sequence = BUCKETS, num_images: int = 100, seed: int = 0,
             mask_dir: Optional[str] = None, inception_weights: Optional[str] = None,
             num_grid: int = 4, method_name: str = "GAIN", baselines: bool = True,
             batch_size: int = 8, inception=None, write: bool = True,
             progress_stream=None) -> List[dict]:
    """Scores ``inpaint_fn`` (and / or the classical baselines) per bucket; returns the table rows.

    Args:
      inpaint_fn: uint8 ``[N,H,W,3]`` images and uint8 ``[N,H,W,1]`` hole masks (255 = hole) ->
        uint8 ``[N,H,W,3]``; ``None`` runs only the baselines.
      source: TFRecord glob / folder or image folder (see :func:`gain_tf.data.eval_dataset`).
      output_dir: where ``results.md``, ``results.csv`` and the grids go.
      image_size: evaluation size (shorter side resized, centre crop).
      buckets: ``(lo, hi)`` hole-ratio buckets; num_images: images per bucket; seed: mask seed.
      mask_dir: a folder of mask images (white = hole) instead of seeded bucket masks.
      inception_weights: local Inception-v3 ``.h5`` for FID (skipped with a note without it);
        ``inception`` an already loaded :class:`gain_tf.metrics.InceptionActivations` instead.
      num_grid: example rows per bucket grid (0: no grids).
      method_name: the model's label in tables and grid names.
      baselines: also run Telea and Navier–Stokes.
      write: write the tables (the grids are written whenever ``num_grid`` > 0).
    Rows: see :meth:`gain_tf.metrics.BucketMetrics.rows`.
    """
    if inpaint_fn is None and not baselines:
        raise ValueError("nothing to evaluate: no inpaint_fn and baselines=False")
    buckets = tuple(tuple(float(x) for x in b) for b in buckets)
    if not buckets:
        raise ValueError("no buckets given")
    if num_images < 1:
        raise ValueError(f"num_images must be positive, got {num_images}")
    if inception is None and inception_weights is not None:
        inception = _metrics.load_inception(inception_weights)
    elif inception is None:
        _metrics.load_inception(None)  # logs the one-line "FID skipped" note
    scores = _metrics.BucketMetrics(inception)
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
                outputs = {}
                if inpaint_fn is not None:
                    out = np.asarray(inpaint_fn(gt, holes))
                    if out.shape != gt.shape or out.dtype != np.uint8:
                        raise ValueError(f"{method_name}: inpaint_fn returned {out.dtype} {out.shape}, "
                                         f"expected uint8 {gt.shape}")
                    outputs[method_name] = out
                if baselines:
                    outputs[TELEA] = _metrics.inpaint_telea(gt, valid)
                    outputs[NAVIER_STOKES] = _metrics.inpaint_navier_stokes(gt, valid)
                scores.add(label, gt, outputs)
                for i in range(gt.shape[0]):
                    if len(grid_rows) >= num_grid:
                        break
                    row = [_metrics.masked_input_picture(gt[i], valid[i])]
                    row += [outputs[m][i] for m in (method_name, TELEA) if m in outputs]
                    row.append(gt[i])
                    grid_rows.append(row)
                seen += gt.shape[0]
                progress.update(gt.shape[0], bucket=label)
            if seen == 0:
                raise ValueError(f"{source}: no evaluation images found")
            if grid_rows:
                labels = ["masked input"] + [m for m in (method_name if inpaint_fn is not None else None,
                                                           TELEA if baselines else None) if m] + ["ground truth"]
                write_png(grid_path(output_dir, grid_name, bucket), _metrics.make_grid(grid_rows, labels))
    finally:
        progress.close()
    rows = scores.rows()
    if write:
        _metrics.write_tables(rows, output_dir)
    return rows
