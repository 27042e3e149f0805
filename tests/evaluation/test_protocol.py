"""gain_tf.evaluation.protocol: per-bucket accumulation (BucketMetrics), tables with GAIN, Telea and
Navier–Stokes rows and finite numbers, grids, the ablation options, mask folders and --buckets."""
import math
import os

import numpy as np
import pytest

from gain_tf.evaluation import protocol, scores
from gain_tf.images import read_image, write_png
from tests.evaluation.image_folder import data_dir, read_csv  # noqa: F401 (data_dir is a fixture)
from tests.evaluation.references import pairs, ref_fid
from tests.fixtures_model import tiny_inpainter

BUCKETS = ((0.1, 0.2), (0.3, 0.4))


# ------------------------------------------------------------------------------------ BucketMetrics
def test_bucket_metrics_fid_uses_activations():
    def fake_inception(images):  # any callable images -> [N, D] activations will do
        x = np.asarray(images, np.float64)
        return x.reshape(x.shape[0], -1)[:, :6] / 255.0

    out, gt = pairs(seed=8, n=5, h=16, w=16)
    acc = protocol.BucketMetrics(inception=fake_inception)
    acc.add("0-10%", gt, {"GAIN": out, "copy": gt})
    gain, copy = acc.rows()
    assert gain["fid"] == pytest.approx(ref_fid(fake_inception(out), fake_inception(gt)), rel=1e-6)
    assert abs(copy["fid"]) < 1e-9


def test_bucket_metrics_rows():
    out, gt = pairs(seed=7, n=4, h=24, w=24)
    acc = protocol.BucketMetrics()  # no Inception -> FID "n/a"
    acc.add("10-20%", gt[2:], {"GAIN": out[2:], "Telea": gt[2:]})
    acc.add("0-10%", gt[:2], {"GAIN": out[:2], "Telea": gt[:2]})
    rows = acc.rows()
    assert [(r["method"], r["bucket"]) for r in rows] == [
        ("GAIN", "0-10%"), ("GAIN", "10-20%"), ("GAIN", "all"),
        ("Telea", "0-10%"), ("Telea", "10-20%"), ("Telea", "all")]
    g0, g1, gall = rows[:3]
    assert g0["n"] == 2 and gall["n"] == 4
    assert g0["relative_l1"] == pytest.approx(scores.relative_l1(out[:2], gt[:2]))
    assert gall["relative_l1"] == pytest.approx(scores.relative_l1(out, gt))
    assert gall["ssim"] == pytest.approx(float(np.mean(scores.ssim(out, gt))))
    assert g1["psnr"] == pytest.approx(float(np.mean(scores.psnr(out[2:], gt[2:]))))
    assert rows[3]["relative_l1"] == 0.0 and rows[3]["psnr"] == scores.PSNR_CAP_DB
    assert all(r["fid"] is None for r in rows)


# ------------------------------------------------------------------------------------------ evaluate
def test_evaluate_library(data_dir, tmp_path):
    out = str(tmp_path / "eval")
    rows = protocol.evaluate(tiny_inpainter().inpaint, data_dir, out, 32, BUCKETS, num_images=4,
                             seed=0, num_grid=2, batch_size=3)
    methods = {r["method"] for r in rows}
    assert methods == {"GAIN", protocol.TELEA, protocol.NAVIER_STOKES}
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
    grid = read_image(protocol.grid_path(out, "GAIN", BUCKETS[0]))
    # 2 rows of 32 px + header, 5 columns (masked input | GAIN | Telea | Navier-Stokes | truth).
    assert grid.shape[1] == 5 * 32 + 4 * 2 and grid.shape[0] > 2 * 32
    assert os.path.exists(protocol.grid_path(out, "GAIN", BUCKETS[1]))


def test_grids_of_a_model_with_a_gradient_show_both_magnitudes(data_dir, tmp_path):
    out = str(tmp_path / "eval")
    protocol.evaluate(tiny_inpainter().inpaint_scored, data_dir, out, 32, BUCKETS[:1],
                      num_images=2, num_grid=2, write=False)
    grid = read_image(protocol.grid_path(out, "GAIN", BUCKETS[0]))
    assert grid.shape[1] == 7 * 32 + 6 * 2      # ... | ground truth | |grad| truth | |grad| GAIN
    rows = grid[-2 * 32 - 2:]                   # the two example rows under the labels
    for column in (5, 6):                       # both magnitudes drawn, not left black
        tile = rows[-32:, column * 34:column * 34 + 32]
        assert tile.std() > 5, column


def test_gradient_pictures_of_a_ramp():
    """A ramp of 3 grey levels per pixel to the right: Sobel/8 gives |∇| = 3 inside, the 99th
    percentile of which is the scale, so the truth's picture is white inside; a predicted gradient
    of half the truth's is mid-grey."""
    ramp = np.repeat(np.repeat((np.arange(32) * 3)[None, :, None], 32, 0), 3, 2).astype(np.uint8)
    half = np.zeros((32, 32, 2))
    half[..., 0] = 1.5
    truth, predicted = protocol.gradient_pictures(ramp, half)
    assert (truth[2:-2, 2:-2] == 255).all() and (predicted == 128).all()


def test_ablation_options(data_dir, tmp_path):
    base = protocol.evaluate(None, data_dir, str(tmp_path / "b"), 32, BUCKETS[:1], num_images=2,
                             seed=0, num_grid=1)
    assert [r["method"] for r in base] == [protocol.TELEA, protocol.NAVIER_STOKES]
    assert os.path.exists(protocol.grid_path(str(tmp_path / "b"), "baselines", BUCKETS[0]))
    only = protocol.evaluate(tiny_inpainter().inpaint, data_dir, str(tmp_path / "m"), 32, BUCKETS[:1],
                             num_images=2, seed=0, num_grid=0, method_name="no attention",
                             baselines=False)
    assert [r["method"] for r in only] == ["no attention"]
    # Same images and masks: the baselines do not depend on which call ran them.
    again = protocol.evaluate(lambda im, m: im, data_dir, str(tmp_path / "c"), 32, BUCKETS[:1],
                              num_images=2, seed=0, num_grid=0, method_name="identity")
    by = {r["method"]: r for r in again}
    assert by[protocol.TELEA]["psnr"] == base[0]["psnr"]
    with pytest.raises(ValueError, match="nothing to evaluate"):
        protocol.evaluate(None, data_dir, str(tmp_path / "d"), 32, BUCKETS, 1, baselines=False)


def test_evaluate_with_mask_folder(data_dir, tmp_path):
    mask_dir = tmp_path / "masks"
    m = np.zeros((64, 64), np.uint8)
    m[8:30, 10:40] = 255                     # 16 % at any size (nearest resize)
    write_png(str(mask_dir / "m0.png"), m)
    rows = protocol.evaluate(None, data_dir, str(tmp_path / "e"), 32, [(0.1, 0.2)], num_images=3,
                             seed=0, mask_dir=str(mask_dir), num_grid=0)
    assert rows[0]["n"] == 3 and math.isfinite(rows[0]["psnr"])


def test_parse_buckets():
    assert protocol.parse_buckets(None) == protocol.BUCKETS
    assert protocol.parse_buckets("10-20, 50-60%") == ((0.1, 0.2), (0.5, 0.6))
    with pytest.raises(ValueError, match="--buckets"):
        protocol.parse_buckets("10to20")
