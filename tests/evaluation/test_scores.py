"""gain_tf.evaluation.scores: PSNR, SSIM and relative L1 against independent numpy/scipy references."""
import math

import numpy as np
import pytest
import tensorflow as tf
from scipy.signal import convolve2d

from gain_tf.evaluation import scores
from tests.evaluation.references import pairs


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


def test_psnr_matches_reference_and_caps_identical():
    out, gt = pairs(seed=1)
    got = scores.psnr(out, gt)
    assert got.shape == (3,)
    for i in range(3):
        assert abs(got[i] - _ref_psnr(out[i], gt[i])) < 1e-4
        assert abs(scores.psnr(out[i], gt[i]) - got[i]) < 1e-12  # single image -> float
    assert scores.psnr(gt[0], gt[0]) == scores.PSNR_CAP_DB
    assert np.all(np.isfinite(scores.psnr(gt, gt)))


def test_ssim_matches_reference():
    out, gt = pairs(seed=2)
    got = scores.ssim(out, gt)
    assert got.shape == (3,)
    for i in range(3):
        ref = _ref_ssim(out[i], gt[i])
        assert abs(got[i] - ref) < 1e-4
        assert 0.0 < ref < 1.0
    # float input in [0, 255] gives the same values; identical images give 1
    np.testing.assert_allclose(scores.ssim(out.astype(np.float32), gt.astype(np.float32)), got, atol=1e-10)
    assert abs(scores.ssim(gt[0], gt[0]) - 1.0) < 1e-12
    # and it is the definition tf.image.ssim uses (float32 there)
    tf_val = tf.image.ssim(tf.constant(out, tf.float32), tf.constant(gt, tf.float32), 255.0).numpy()
    np.testing.assert_allclose(got, tf_val, atol=1e-4)


def test_relative_l1_hand_computed():
    gt = np.array([[[[10, 20, 30], [40, 50, 60]]]], np.uint8)  # [1, 1, 2, 3], Σ|gt| = 210
    out = np.array([[[[12, 20, 27], [40, 55, 60]]]], np.uint8)  # Σ|out - gt| = 2 + 3 + 5 = 10
    assert scores.relative_l1(out, gt) == pytest.approx(10 / 210, abs=1e-12)
    assert scores.relative_l1_per_image(out[0], gt[0]) == pytest.approx(10 / 210, abs=1e-12)
    # pooled over a batch = ratio of sums, not mean of ratios
    gt2 = np.concatenate([gt, np.full_like(gt, 100)])  # second image: Σ|gt| = 600
    out2 = np.concatenate([out, np.full_like(gt, 94)])  # Σ|diff| = 36
    assert scores.relative_l1(out2, gt2) == pytest.approx(46 / 810, abs=1e-12)
    np.testing.assert_allclose(scores.relative_l1_per_image(out2, gt2), [10 / 210, 36 / 600])
    assert scores.relative_l1(gt, gt) == 0.0
