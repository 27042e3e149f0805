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


# ------------------------------------------------------------------------------ gradients in the hole
def test_image_gradient_np_is_the_models_operator_in_grey_levels():
    """The numpy ∇ equals the model's TF operator (gain_tf.layers.gradient) on [-1, 1], times 127.5,
    and a unit ramp has gradient 1 grey level per pixel."""
    import tensorflow as tf

    from gain_tf.layers.gradient import image_gradient
    from gain_tf.evaluation.scores import image_gradient_np
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (2, 12, 9, 3)).astype(np.float64)
    want = image_gradient(tf.constant(img / 127.5 - 1.0, tf.float32)).numpy() * 127.5
    np.testing.assert_allclose(image_gradient_np(img), want, atol=1e-3)
    ramp = np.repeat(np.arange(10.0)[None, :, None], 8, 0) * np.ones(3)
    g = image_gradient_np(ramp)[0]
    np.testing.assert_allclose(g[:, 1:-1, 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(g[..., 1], 0.0, atol=1e-12)


def test_gradient_hole_sums_against_a_loop():
    from gain_tf.evaluation.scores import gradient_hole_sums
    rng = np.random.default_rng(4)
    grad, ref = rng.normal(size=(2, 5, 6, 2)), rng.normal(size=(2, 5, 6, 2))
    valid = (rng.random((2, 5, 6, 1)) > 0.5).astype(np.float32)
    l1 = norm = ref_norm = 0.0
    pixels = 0
    for b in range(2):
        for y in range(5):
            for x in range(6):
                if valid[b, y, x, 0] == 0:
                    pixels += 1
                    l1 += abs(grad[b, y, x, 0] - ref[b, y, x, 0]) + abs(grad[b, y, x, 1] - ref[b, y, x, 1])
                    norm += float(np.hypot(*grad[b, y, x]))
                    ref_norm += float(np.hypot(*ref[b, y, x]))
    np.testing.assert_allclose(gradient_hole_sums(grad, ref, valid), (l1, norm, ref_norm, pixels))


def test_bucket_metrics_score_gradients_in_the_hole():
    """The truth scores ∇ energy 1 and ∇ L1 0; a flat fill energy 0 and the zero gradient's L1; a
    predicted-gradient row has no image scores."""
    from gain_tf.evaluation.protocol import BucketMetrics
    from gain_tf.evaluation.scores import image_gradient_np
    rng = np.random.default_rng(5)
    gt = rng.integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    valid = np.ones((2, 16, 16, 1), np.float32)
    valid[:, 4:12, 4:12] = 0
    flat = gt.copy()
    flat[:, 1:15, 1:15] = 128                       # flat over the hole and the ring around it
    acc = BucketMetrics()
    acc.add("b", gt, {"truth": gt, "flat": flat}, valid, {"zero ∇": np.zeros((2, 16, 16, 2))})
    rows = {r["method"]: r for r in acc.rows()}
    assert rows["truth"]["grad_energy"] == 1.0 and rows["truth"]["grad_l1"] == 0.0
    assert rows["flat"]["grad_energy"] == pytest.approx(0.0, abs=1e-12)
    hole = valid[..., 0] == 0
    zero_l1 = np.abs(image_gradient_np(gt))[hole].mean()
    assert rows["flat"]["grad_l1"] == pytest.approx(zero_l1) == rows["zero ∇"]["grad_l1"]
    assert np.isnan(rows["zero ∇"]["psnr"]) and rows["zero ∇"]["n"] == 2
