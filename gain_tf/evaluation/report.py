"""Tables of evaluation results: per-bucket and wide per-variant tables (the grids are :mod:`gain_tf.pictures`')."""
# Table rows are the dicts of :meth:`gain_tf.evaluation.protocol.BucketMetrics.rows`. Every file is
# written atomically.
from __future__ import annotations

import csv
import io
import math
import os
from typing import Iterable, Mapping, Optional, Sequence

from gain_tf.images import atomic_write_bytes
from gain_tf.masks import bucket_name


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


def write_tables(rows: Iterable[Mapping], out_dir: str, about: Optional[Mapping] = None) -> tuple:
    """Writes ``results.md`` (Markdown table) and ``results.csv`` into ``out_dir``, each atomically.

    ``about`` (e.g. ``{"model": path, "data": glob}``) is listed under the Markdown title, so the
    table says what it scores.

    Columns: method, bucket, relative L1 (%) = 100 · Σ|out − gt| / Σ|gt|, SSIM, PSNR (dB), FID ("n/a"
    when not computed), in the hole the gradient energy ratio Σ‖∇out‖ / Σ‖∇gt‖ and the gradient
    L1 in grey levels per pixel (:func:`gain_tf.evaluation.scores.gradient_hole_sums`; "n/a" when
    not computed), images; the CSV has the same columns (``CSV_COLUMNS``) with 6 decimals.
    Returns the two paths.
    """
    rows = list(rows)
    cells = [_table_cells(r) for r in rows]
    md = ["# Inpainting results", ""]
    if about:
        md += [f"- {k}: {v}" for k, v in about.items()] + [""]
    md += [
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
