"""Pictures and tables of evaluation results: grids, per-bucket and wide per-variant tables."""
# Pictures are uint8 RGB; ``valid`` masks follow the library convention (1 = known, 0 = hole).
# Table rows are the dicts of :meth:`gain_tf.evaluation.protocol.BucketMetrics.rows`. Every file is
# written atomically.
from __future__ import annotations

import csv
import io
import math
import os
from typing import Iterable, Mapping, Optional, Sequence

import cv2
import numpy as np

from gain_tf.images import atomic_write_bytes
from gain_tf.masks import bucket_name


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


def comparison_grid(gt, valid, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """The same examples across methods, labelled: one row per image of ``gt`` ``[N, H, W, 3]``,
    masked input | each of ``outputs`` (name -> ``[N, H, W, 3]``, in their order) | ground truth."""
    rows = [[masked_input_picture(gt[i], valid[i])] + [outputs[n][i] for n in outputs] + [gt[i]]
            for i in range(gt.shape[0])]
    return make_grid(rows, ["masked input"] + list(outputs) + ["ground truth"])


# ------------------------------------------------------------------------------ per-bucket tables
def _fmt(v: Optional[float], digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}f}"


TABLE_COLUMNS = ("method", "bucket", "relative L1 (%)", "SSIM", "PSNR (dB)", "FID",
                 "∇ energy (hole)", "∇ L1 (hole)", "images")
CSV_COLUMNS = ("method", "bucket", "relative_l1_percent", "ssim", "psnr_db", "fid",
               "grad_energy_hole", "grad_l1_hole", "images")


def _table_cells(row: Mapping, digits=(2, 4, 2, 2, 3, 3)) -> list:
    values = (100.0 * row["relative_l1"], row["ssim"], row["psnr"], row.get("fid"),
              row.get("grad_energy"), row.get("grad_l1"))
    return ([str(row["method"]), str(row["bucket"])] + [_fmt(v, d) for v, d in zip(values, digits)]
            + [str(row.get("n", ""))])


def write_tables(rows: Iterable[Mapping], out_dir: str) -> tuple:
    """Writes ``results.md`` (Markdown table) and ``results.csv`` into ``out_dir``, each atomically.

    Columns: method, bucket, relative L1 (%) = 100 · Σ|out − gt| / Σ|gt|, SSIM, PSNR (dB), FID ("n/a"
    when not computed), in the hole the gradient energy ratio Σ‖∇out‖ / Σ‖∇gt‖ and the gradient
    L1 in grey levels per pixel (:func:`gain_tf.evaluation.scores.gradient_hole_sums`; "n/a" when
    not computed), images; the CSV has the same columns (``CSV_COLUMNS``) with 6 decimals.
    Returns the two paths.
    """
    rows = list(rows)
    cells = [_table_cells(r) for r in rows]
    md = ["# Inpainting results", "",
          "Relative L1 = Σ|out − gt| / Σ|gt| on [0, 255]; PSNR and SSIM on RGB [0, 255] (SSIM: 11×11 "
          "Gaussian window, σ 1.5); FID from Inception-v3 pool3 activations at 299×299 "
          "(meaningful only with ≥ 2048 images). In the hole: ∇ energy = Σ‖∇out‖ / Σ‖∇gt‖ and ∇ L1 "
          "= mean |∇out − ∇gt| (grey levels / px) of the grayscale Sobel/8 gradient; rows named ∇ "
          "score a predicted gradient map itself.", "",
          "| " + " | ".join(TABLE_COLUMNS) + " |",
          "|" + "|".join(["---"] * 2 + ["---:"] * (len(TABLE_COLUMNS) - 2)) + "|"]
    md += ["| " + " | ".join(c) + " |" for c in cells]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(_table_cells(r, digits=(6,) * 6))
    md_path = os.path.join(out_dir, "results.md")
    csv_path = os.path.join(out_dir, "results.csv")
    atomic_write_bytes(md_path, ("\n".join(md) + "\n").encode("utf-8"))
    atomic_write_bytes(csv_path, buf.getvalue().encode("utf-8"))
    return md_path, csv_path


# ----------------------------------------------------------------------------- wide per-variant table
def wide_table(rows: Iterable[Mapping], buckets: Sequence) -> tuple:
    """``(header, body)`` of the wide table: one line per method (in the order first seen in
    ``rows``), then relative L1 %, SSIM, PSNR and FID ("n/a" when not computed) per ``(lo, hi)``
    bucket; cells of a bucket the method was not scored on are empty."""
    rows = list(rows)
    names = [bucket_name(b) for b in buckets]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["method"], r["bucket"]): r for r in rows}
    header = ["variant"]
    for n in names:
        header += [f"{n} rel.L1 %", f"{n} SSIM", f"{n} PSNR", f"{n} FID"]
    body = []
    for m in methods:
        line = [m]
        for n in names:
            r = by.get((m, n))
            fid = r.get("fid") if r else None
            line += ([f"{100 * r['relative_l1']:.2f}", f"{r['ssim']:.4f}", f"{r['psnr']:.2f}",
                      f"{fid:.2f}" if fid is not None else "n/a"] if r else ["", "", "", ""])
        body.append(line)
    return header, body


def write_wide_tables(rows: Iterable[Mapping], buckets: Sequence, output_dir: str, name: str,
                      note: str = "") -> tuple:
    """Writes :func:`wide_table` as ``<name>.md`` (``note``, then a Markdown table) and ``<name>.csv``
    into ``output_dir``, each atomically; returns the two paths."""
    header, body = wide_table(rows, buckets)
    md = [note, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(line) + " |" for line in body]
    md_path = os.path.join(output_dir, f"{name}.md")
    csv_path = os.path.join(output_dir, f"{name}.csv")
    atomic_write_bytes(md_path, ("\n".join(md) + "\n").encode())
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(body)
    atomic_write_bytes(csv_path, buf.getvalue().encode())
    return md_path, csv_path
