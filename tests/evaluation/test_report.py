"""gain_tf.evaluation.report: the per-bucket Markdown / CSV tables and the wide per-variant table."""
import csv
import os

import numpy as np
import pytest

from gain_tf.evaluation import report
from gain_tf.evaluation.protocol import BucketMetrics
from tests.evaluation.references import pairs


# ------------------------------------------------------------------------------ per-bucket tables
def test_write_tables(tmp_path):
    out, gt = pairs(seed=7, n=4, h=24, w=24)
    acc = BucketMetrics()  # no Inception -> FID "n/a"
    acc.add("10-20%", gt[2:], {"GAIN": out[2:], "Telea": gt[2:]})
    acc.add("0-10%", gt[:2], {"GAIN": out[:2], "Telea": gt[:2]})
    rows = acc.rows()
    g0, gall = rows[0], rows[2]

    md_path, csv_path = report.write_tables(rows, str(tmp_path / "eval"))
    assert os.path.basename(md_path) == "results.md" and os.path.isfile(md_path)
    assert os.path.basename(csv_path) == "results.csv" and os.path.isfile(csv_path)
    md = open(md_path, encoding="utf-8").read().splitlines()
    table = [line for line in md if line.startswith("|")]
    assert table[0] == "| " + " | ".join(report.TABLE_COLUMNS) + " |"
    assert len(table) == 2 + len(rows)
    cells = [c.strip() for c in table[2].strip("|").split("|")]
    assert cells[:2] == ["GAIN", "0-10%"]
    assert cells[2] == f"{100 * g0['relative_l1']:.2f}" and cells[5] == "n/a" and cells[8] == "2"
    assert cells[6] == cells[7] == "n/a"                        # no mask given: no gradient scores
    with open(csv_path, newline="", encoding="utf-8") as f:
        data = list(csv.reader(f))
    assert tuple(data[0]) == report.CSV_COLUMNS and len(data) == 1 + len(rows)
    assert data[6][:2] == ["Telea", "all"] and float(data[6][2]) == 0.0 and data[6][5] == "n/a"
    assert float(data[3][3]) == pytest.approx(gall["ssim"], abs=1e-6)
    assert not [p for p in os.listdir(tmp_path / "eval") if p.startswith(".tmp-")]


# ----------------------------------------------------------------------------- wide per-variant table
def _row(method, bucket, l1, fid=None):
    return {"method": method, "bucket": bucket, "n": 2, "relative_l1": l1, "ssim": 0.5,
            "psnr": 25.0, "fid": fid}


WIDE_ROWS = [_row("gain", "10-20%", 0.0125), _row("gain", "30-40%", 0.5, fid=12.5),
             _row("gain", "all", 0.25), _row("Telea", "30-40%", 0.02)]
WIDE_BUCKETS = ((0.1, 0.2), (0.3, 0.4))


def test_wide_table_one_line_per_method_four_cells_per_bucket():
    header, body = report.wide_table(WIDE_ROWS, WIDE_BUCKETS)
    assert header == ["variant", "10-20% rel.L1 %", "10-20% SSIM", "10-20% PSNR", "10-20% FID",
                      "30-40% rel.L1 %", "30-40% SSIM", "30-40% PSNR", "30-40% FID"]
    assert body == [
        ["gain", "1.25", "0.5000", "25.00", "n/a", "50.00", "0.5000", "25.00", "12.50"],
        ["Telea", "", "", "", "", "2.00", "0.5000", "25.00", "n/a"]]  # "all" is not a column


def test_write_wide_tables(tmp_path):
    md_path, csv_path = report.write_wide_tables(WIDE_ROWS, WIDE_BUCKETS, str(tmp_path), "ablation",
                                                 note="A note.")
    assert (md_path, csv_path) == (str(tmp_path / "ablation.md"), str(tmp_path / "ablation.csv"))
    header, body = report.wide_table(WIDE_ROWS, WIDE_BUCKETS)
    md = open(md_path, encoding="utf-8").read().splitlines()
    assert md[:2] == ["A note.", ""]
    assert md[2] == "| " + " | ".join(header) + " |" and md[3] == "|" + "---|" * len(header)
    assert md[4:] == ["| " + " | ".join(line) + " |" for line in body]
    with open(csv_path, newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [header] + body
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
