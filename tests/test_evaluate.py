"""gain_tf.evaluation / experiments/evaluate.py: tables with GAIN, Telea and Navier–Stokes rows and
finite numbers, grids, the ablation options, and the CLI end to end on a SavedModel."""
import csv
import math
import os

import numpy as np
import pytest
from absl import flags

from experiments import evaluate as cli
from gain_tf import evaluation
from gain_tf.images import read_image, write_png
from tests.fixtures_model import tiny_export_dir, tiny_inpainter, write_images

BUCKETS = ((0.1, 0.2), (0.3, 0.4))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval_images")
    write_images(str(d), 4, 32, 32, seed=5)
    return str(d)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_evaluate_library(data_dir, tmp_path):
    out = str(tmp_path / "eval")
    rows = evaluation.evaluate(tiny_inpainter().inpaint, data_dir, out, 32, BUCKETS, num_images=4,
                               seed=0, num_grid=2, batch_size=3)
    methods = {r["method"] for r in rows}
    assert methods == {"GAIN", evaluation.TELEA, evaluation.NAVIER_STOKES}
    assert {r["bucket"] for r in rows} == {"10-20%", "30-40%", "all"}
    for r in rows:
        assert r["n"] == (8 if r["bucket"] == "all" else 4)
        for key in ("relative_l1", "ssim", "psnr"):
            assert math.isfinite(r[key]), r
        assert r["fid"] is None
    md = open(os.path.join(out, "results.md")).read()
    for name in ("GAIN", "Telea", "Navier-Stokes", "10-20%", "30-40%"):
        assert name in md
    assert len(read_csv(os.path.join(out, "results.csv"))) == len(rows)
    grid = read_image(evaluation.grid_path(out, "GAIN", BUCKETS[0]))
    # 2 rows of 32 px + header, 4 columns (masked input | GAIN | Telea | ground truth).
    assert grid.shape[1] == 4 * 32 + 3 * 2 and grid.shape[0] > 2 * 32
    assert os.path.exists(evaluation.grid_path(out, "GAIN", BUCKETS[1]))


def test_ablation_options(data_dir, tmp_path):
    base = evaluation.evaluate(None, data_dir, str(tmp_path / "b"), 32, BUCKETS[:1], num_images=2,
                               seed=0, num_grid=1)
    assert [r["method"] for r in base] == [evaluation.TELEA, evaluation.NAVIER_STOKES]
    assert os.path.exists(evaluation.grid_path(str(tmp_path / "b"), "baselines", BUCKETS[0]))
    only = evaluation.evaluate(tiny_inpainter().inpaint, data_dir, str(tmp_path / "m"), 32, BUCKETS[:1],
                               num_images=2, seed=0, num_grid=0, method_name="no attention",
                               baselines=False)
    assert [r["method"] for r in only] == ["no attention"]
    # Same images and masks: the baselines do not depend on which call ran them.
    again = evaluation.evaluate(lambda im, m: im, data_dir, str(tmp_path / "c"), 32, BUCKETS[:1],
                                num_images=2, seed=0, num_grid=0, method_name="identity")
    by = {r["method"]: r for r in again}
    assert by[evaluation.TELEA]["psnr"] == base[0]["psnr"]
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluation.evaluate(None, data_dir, str(tmp_path / "d"), 32, BUCKETS, 1, baselines=False)


def test_evaluate_with_mask_folder(data_dir, tmp_path):
    mask_dir = tmp_path / "masks"
    m = np.zeros((64, 64), np.uint8)
    m[8:30, 10:40] = 255                     # 16 % at any size (nearest resize)
    write_png(str(mask_dir / "m0.png"), m)
    rows = evaluation.evaluate(None, data_dir, str(tmp_path / "e"), 32, [(0.1, 0.2)], num_images=3,
                               seed=0, mask_dir=str(mask_dir), num_grid=0)
    assert rows[0]["n"] == 3 and math.isfinite(rows[0]["psnr"])


def test_parse_buckets():
    assert evaluation.parse_buckets(None) == evaluation.BUCKETS
    assert evaluation.parse_buckets("10-20, 50-60%") == ((0.1, 0.2), (0.5, 0.6))
    with pytest.raises(ValueError, match="--buckets"):
        evaluation.parse_buckets("10to20")


def run_cli(*args):
    fv = flags.FlagValues()
    cli.define_flags(fv)
    return cli.main(fv(["evaluate"] + list(args)), fv)


def test_cli_end_to_end_on_saved_model(data_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    code = run_cli(f"--saved_model={tiny_export_dir()}", f"--data={data_dir}", "--buckets=20-30",
                   "--num_images=2", f"--output_dir={out}", "--num_grid=2",
                   f"--inception_weights={tmp_path / 'missing.h5'}")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = read_csv(str(out / "results.csv"))
    assert [r["method"] for r in rows] == ["GAIN", "Telea", "Navier-Stokes"]
    assert all(r["fid"] == "n/a" for r in rows)
    assert all(math.isfinite(float(r["psnr_db"])) for r in rows)
    assert (out / "results.md").exists() and (out / "grid_GAIN_20-30.png").exists()


def test_cli_errors(data_dir, tmp_path, capsys):
    assert run_cli(f"--model_dir={tmp_path / 'none'}", f"--data={data_dir}", f"--output_dir={tmp_path}") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'none'}: model directory not found"]
    assert run_cli(f"--data={data_dir}", f"--output_dir={tmp_path}") == 1
    assert "exactly one of --saved_model or --model_dir" in capsys.readouterr().err
