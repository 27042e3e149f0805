"""Metrics against independent numpy/scipy references, FID end to end, baselines, tables, grids."""
import csv
import logging
import math
import os

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf
from scipy.signal import convolve2d

from gain_tf import metrics


def _pairs(seed=0, n=3, h=40, w=48):
    """Seeded (out, gt) uint8 batches: smooth-ish ground truth and a noisy output."""
    rs = np.random.RandomState(seed)
    gt = rs.randint(0, 256, (n, h, w, 3)).astype(np.float64)
    # a cheap separable box blur so that the images have local structure
    k = np.ones(5) / 5.0
    for ax in (1, 2):
        gt = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), ax, gt)
    gt = np.clip(np.round(gt), 0, 255).astype(np.uint8)
    out = np.clip(gt.astype(int) + rs.randint(-25, 26, gt.shape), 0, 255).astype(np.uint8)
    return out, gt


# ----------------------------------------------------------------------------- independent references
def _ref_psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 20 * math.log10(255.0) - 10 * math.log10(mse)


def _ref_ssim(a, b):
    """Explicit 2-D Gaussian window, scipy 'valid' convolution, per channel, float64."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    x = np.arange(11) - 5.0
    g = np.exp(-x ** 2 / (2 * 1.5 ** 2))
    win = np.outer(g, g)
    win /= win.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for c in range(a.shape[-1]):
        f = lambda z: convolve2d(z, win, mode="valid")  # noqa: E731 (symmetric window: conv == corr)
        p, q = a[..., c], b[..., c]
        mp, mq = f(p), f(q)
        spp, sqq, spq = f(p * p) - mp ** 2, f(q * q) - mq ** 2, f(p * q) - mp * mq
        m = ((2 * mp * mq + c1) * (2 * spq + c2)) / ((mp ** 2 + mq ** 2 + c1) * (spp + sqq + c2))
        vals.append(m.mean())
    return float(np.mean(vals))


def _ref_fid(a1, a2):
    mu1, mu2 = a1.mean(0), a2.mean(0)
    s1, s2 = np.cov(a1, rowvar=False), np.cov(a2, rowvar=False)  # unbiased (N - 1)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


# ------------------------------------------------------------------------------------ PSNR / SSIM / L1
def test_psnr_matches_reference_and_caps_identical():
    out, gt = _pairs(seed=1)
    got = metrics.psnr(out, gt)
    assert got.shape == (3,)
    for i in range(3):
        assert abs(got[i] - _ref_psnr(out[i], gt[i])) < 1e-4
        assert abs(metrics.psnr(out[i], gt[i]) - got[i]) < 1e-12  # single image -> float
    assert metrics.psnr(gt[0], gt[0]) == metrics.PSNR_CAP_DB
    assert np.all(np.isfinite(metrics.psnr(gt, gt)))


def test_ssim_matches_reference():
    out, gt = _pairs(seed=2)
    got = metrics.ssim(out, gt)
    assert got.shape == (3,)
    for i in range(3):
        ref = _ref_ssim(out[i], gt[i])
        assert abs(got[i] - ref) < 1e-4
        assert 0.0 < ref < 1.0
    # float input in [0, 255] gives the same values; identical images give 1
    np.testing.assert_allclose(metrics.ssim(out.astype(np.float32), gt.astype(np.float32)), got, atol=1e-10)
    assert abs(metrics.ssim(gt[0], gt[0]) - 1.0) < 1e-12
    # and it is the definition tf.image.ssim uses (float32 there)
    tf_val = tf.image.ssim(tf.constant(out, tf.float32), tf.constant(gt, tf.float32), 255.0).numpy()
    np.testing.assert_allclose(got, tf_val, atol=1e-4)


def test_relative_l1_hand_computed():
    gt = np.array([[[[10, 20, 30], [40, 50, 60]]]], np.uint8)  # [1, 1, 2, 3], Σ|gt| = 210
    out = np.array([[[[12, 20, 27], [40, 55, 60]]]], np.uint8)  # Σ|out - gt| = 2 + 3 + 5 = 10
    assert metrics.relative_l1(out, gt) == pytest.approx(10 / 210, abs=1e-12)
    assert metrics.relative_l1_per_image(out[0], gt[0]) == pytest.approx(10 / 210, abs=1e-12)
    # pooled over a batch = ratio of sums, not mean of ratios
    gt2 = np.concatenate([gt, np.full_like(gt, 100)])  # second image: Σ|gt| = 600
    out2 = np.concatenate([out, np.full_like(gt, 94)])  # Σ|diff| = 36
    assert metrics.relative_l1(out2, gt2) == pytest.approx(46 / 810, abs=1e-12)
    np.testing.assert_allclose(metrics.relative_l1_per_image(out2, gt2), [10 / 210, 36 / 600])
    assert metrics.relative_l1(gt, gt) == 0.0


# ---------------------------------------------------------------------------------------------- FID
def test_frechet_distance_matches_scipy():
    rs = np.random.RandomState(3)
    a1 = rs.normal(size=(300, 16))
    a2 = rs.normal(loc=0.3, scale=1.2, size=(300, 16)) + 0.2 * rs.normal(size=(1, 16))
    ref = _ref_fid(a1, a2)
    got = metrics.frechet_distance(a1, a2)  # N >= D: tensorflow-gan
    assert isinstance(got, float)
    assert got == pytest.approx(ref, rel=1e-3)
    assert metrics.frechet_distance(a1, a2, method="tfgan") == pytest.approx(ref, rel=1e-3)
    assert metrics.frechet_distance(a1, a2, method="gram") == pytest.approx(ref, rel=1e-6)
    assert abs(metrics.frechet_distance(a1, a1)) < 1e-3
    assert abs(metrics.frechet_distance(a1, a1, method="gram")) < 1e-3


def test_frechet_gram_form_equals_tfgan_for_few_samples():
    rs = np.random.RandomState(4)
    a1 = rs.normal(size=(20, 64))
    a2 = rs.normal(loc=0.1, size=(25, 64))
    tfgan_val = metrics.frechet_distance(a1, a2, method="tfgan")
    assert metrics.frechet_distance(a1, a2) == pytest.approx(tfgan_val, rel=1e-6)  # auto -> gram
    assert metrics.frechet_distance(a1, a2) == pytest.approx(_ref_fid(a1, a2), rel=1e-3)


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                              input_shape=(299, 299, 3))
    path = str(tmp_path_factory.mktemp("inception") / "inception_v3_random_notop.h5")
    model.save_weights(path)
    return path


@pytest.mark.slow
def test_fid_end_to_end_with_local_weights(inception_weights):
    incep = metrics.load_inception(inception_weights, batch_size=2)  # 3 images: a full and a partial batch
    assert isinstance(incep, metrics.InceptionActivations)
    rs = np.random.RandomState(5)
    real = rs.randint(0, 256, (3, 48, 64, 3)).astype(np.uint8)
    fake = np.clip(real.astype(int) + rs.randint(-60, 61, real.shape), 0, 255).astype(np.uint8)
    a_real, a_fake = incep(real), incep(fake)
    assert a_real.shape == (3, 2048) and a_real.dtype == np.float64
    assert np.all(np.isfinite(a_real)) and np.all(a_real >= 0)  # pool3 after ReLU
    fid = metrics.frechet_distance(a_real, a_fake)
    assert math.isfinite(fid) and fid >= 0.0


def test_bucket_metrics_fid_uses_activations():
    def fake_inception(images):  # any callable images -> [N, D] activations will do
        x = np.asarray(images, np.float64)
        return x.reshape(x.shape[0], -1)[:, :6] / 255.0

    out, gt = _pairs(seed=8, n=5, h=16, w=16)
    acc = metrics.BucketMetrics(inception=fake_inception)
    acc.add("0-10%", gt, {"GAIN": out, "copy": gt})
    gain, copy = acc.rows()
    assert gain["fid"] == pytest.approx(_ref_fid(fake_inception(out), fake_inception(gt)), rel=1e-6)
    assert abs(copy["fid"]) < 1e-9


def test_load_inception_missing_or_corrupt_skips_with_note(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    assert metrics.load_inception("") is None
    assert metrics.load_inception(None) is None
    missing = str(tmp_path / "nope.h5")
    assert metrics.load_inception(missing) is None
    assert "nope.h5" in caplog.text
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"this is not an HDF5 file")
    assert metrics.load_inception(str(corrupt)) is None
    assert "corrupt.h5" in caplog.text
    assert caplog.text.count("FID skipped") == 4


# ---------------------------------------------------------------------------------------- baselines
@pytest.mark.parametrize("fn", [metrics.inpaint_telea, metrics.inpaint_navier_stokes])
def test_classical_baselines_keep_known_pixels(fn):
    rs = np.random.RandomState(6)
    img = rs.randint(0, 256, (32, 40, 3)).astype(np.uint8)
    valid = np.ones((32, 40, 1), np.float32)
    valid[10:20, 12:25] = 0.0
    before = img.copy()
    holed = metrics.masked_input_picture(img, valid)  # holes white: the baseline must not see gt there
    out = fn(holed, valid)
    assert out.shape == img.shape and out.dtype == np.uint8
    known = valid[..., 0] > 0.5
    np.testing.assert_array_equal(out[known], img[known])
    assert np.any(out[~known] != 255)  # holes were filled, not left white
    np.testing.assert_array_equal(img, before)
    batch = fn(np.stack([holed, holed]), np.stack([valid, valid]))
    np.testing.assert_array_equal(batch[1], out)


def test_masked_input_picture_holes_white():
    img = np.full((2, 4, 4, 3), 7, np.uint8)
    valid = np.ones((2, 4, 4, 1), np.float32)
    valid[1, :2] = 0
    pic = metrics.masked_input_picture(img, valid)
    assert np.all(pic[1, :2] == 255) and np.all(pic[1, 2:] == 7) and np.all(pic[0] == 7)


# ------------------------------------------------------------------------------ accumulator / tables
def test_bucket_metrics_rows_and_tables(tmp_path):
    out, gt = _pairs(seed=7, n=4, h=24, w=24)
    acc = metrics.BucketMetrics()  # no Inception -> FID "n/a"
    acc.add("10-20%", gt[2:], {"GAIN": out[2:], "Telea": gt[2:]})
    acc.add("0-10%", gt[:2], {"GAIN": out[:2], "Telea": gt[:2]})
    rows = acc.rows()
    assert [(r["method"], r["bucket"]) for r in rows] == [
        ("GAIN", "0-10%"), ("GAIN", "10-20%"), ("GAIN", "all"),
        ("Telea", "0-10%"), ("Telea", "10-20%"), ("Telea", "all")]
    g0, g1, gall = rows[:3]
    assert g0["n"] == 2 and gall["n"] == 4
    assert g0["relative_l1"] == pytest.approx(metrics.relative_l1(out[:2], gt[:2]))
    assert gall["relative_l1"] == pytest.approx(metrics.relative_l1(out, gt))
    assert gall["ssim"] == pytest.approx(float(np.mean(metrics.ssim(out, gt))))
    assert g1["psnr"] == pytest.approx(float(np.mean(metrics.psnr(out[2:], gt[2:]))))
    assert rows[3]["relative_l1"] == 0.0 and rows[3]["psnr"] == metrics.PSNR_CAP_DB
    assert all(r["fid"] is None for r in rows)

    md_path, csv_path = metrics.write_tables(rows, str(tmp_path / "eval"))
    assert os.path.basename(md_path) == "results.md" and os.path.isfile(md_path)
    assert os.path.basename(csv_path) == "results.csv" and os.path.isfile(csv_path)
    md = open(md_path, encoding="utf-8").read().splitlines()
    table = [line for line in md if line.startswith("|")]
    assert table[0] == "| " + " | ".join(metrics.TABLE_COLUMNS) + " |"
    assert len(table) == 2 + len(rows)
    cells = [c.strip() for c in table[2].strip("|").split("|")]
    assert cells[:2] == ["GAIN", "0-10%"]
    assert cells[2] == f"{100 * g0['relative_l1']:.2f}" and cells[5] == "n/a" and cells[6] == "2"
    with open(csv_path, newline="", encoding="utf-8") as f:
        data = list(csv.reader(f))
    assert tuple(data[0]) == metrics.CSV_COLUMNS and len(data) == 1 + len(rows)
    assert data[6][:2] == ["Telea", "all"] and float(data[6][2]) == 0.0 and data[6][5] == "n/a"
    assert float(data[3][3]) == pytest.approx(gall["ssim"], abs=1e-6)
    assert not [p for p in os.listdir(tmp_path / "eval") if p.startswith(".tmp-")]


def test_make_grid_shape_and_separators():
    a = np.zeros((16, 20, 3), np.uint8)
    gray = np.zeros((16, 20), np.uint8)
    grid = metrics.make_grid([[a, a, gray, a], [a, a, a, a]], separator=2)
    assert grid.shape == (2 * 16 + 2, 4 * 20 + 3 * 2, 3) and grid.dtype == np.uint8
    assert np.all(grid[16:18] == 255) and np.all(grid[:, 20:22] == 255)  # white separators
    assert np.all(grid[:16, :20] == 0)
    labelled = metrics.make_grid([[a, a]], labels=["input", "GAIN"])
    assert labelled.shape[1] == 2 * 20 + 2 and labelled.shape[0] > 16
    assert np.all(labelled[-16:, :20] == 0)


def test_load_inception_unloadable_weights_skip_with_note(tmp_path, caplog, monkeypatch):
    """A valid HDF5 file Keras cannot load (e.g. another architecture's weights) is skipped too."""
    def refuse(**kwargs):
        raise ValueError("Layer count mismatch when loading weights from file")

    monkeypatch.setattr(tf.keras.applications, "InceptionV3", refuse)
    caplog.set_level(logging.WARNING)
    path = tmp_path / "other_net.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))  # HDF5 signature, rest irrelevant here
    assert metrics.load_inception(str(path)) is None
    assert "other_net.h5" in caplog.text and "Layer count mismatch" in caplog.text
