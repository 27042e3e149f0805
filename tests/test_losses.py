"""gain_tf.losses against their formulas, computed independently in numpy; our hinge losses (used
where tensorflow-gan does not import) against tensorflow-gan's where it does (docs/stacks.md)."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf import losses


def _rng():
    return np.random.default_rng(0)


def test_l1_plain_and_hole_weighted():
    rng = _rng()
    pred = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
    target = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
    valid = (rng.uniform(size=(2, 5, 6, 1)) > 0.4).astype(np.float32)
    err = np.abs(pred - target)
    np.testing.assert_allclose(losses.l1_loss(pred, target).numpy(), err.mean(), rtol=1e-6)
    # hole weight 1 (or no mask) is the plain mean
    np.testing.assert_allclose(losses.l1_loss(pred, target, None, valid, 1.0).numpy(), err.mean(), rtol=1e-6)
    # Liu et al.: mean over known pixels' errors + w * mean over hole pixels' errors (same N)
    w = 6.0
    n = err.size
    expected = (err * valid).sum() / n + w * (err * (1 - valid)).sum() / n
    np.testing.assert_allclose(losses.l1_loss(pred, target, None, valid, w).numpy(), expected, rtol=1e-6)


def test_global_batch_share_sums_to_the_global_mean():
    rng = _rng()
    pred = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)
    target = np.zeros_like(pred)
    parts = [losses.l1_loss(pred[i:i + 2], target[i:i + 2], global_batch_size=4).numpy() for i in (0, 2)]
    np.testing.assert_allclose(sum(parts), np.abs(pred).mean(), rtol=1e-6)


def test_hinge_losses_match_their_formulas():
    rng = _rng()
    real = rng.normal(size=(3, 2, 2, 1)).astype(np.float32) * 2
    fake = rng.normal(size=(3, 2, 2, 1)).astype(np.float32) * 2
    expected_d = np.maximum(0, 1 - real).mean() + np.maximum(0, 1 + fake).mean()
    np.testing.assert_allclose(losses.hinge_discriminator_loss(real, fake).numpy(), expected_d, rtol=1e-6)
    np.testing.assert_allclose(losses.hinge_generator_loss(fake).numpy(), -fake.mean(), rtol=1e-6)


def _scores(seed, shape):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * 2).astype(np.float32), (rng.normal(size=shape) * 2).astype(np.float32)


SHAPES = [(3, 2, 2, 1), (4, 1, 1, 16), (2, 5, 7, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_own_hinge_losses_match_their_formulas(shape):
    real, fake = _scores(1, shape)
    expected_d = np.maximum(0, 1 - real).mean() + np.maximum(0, 1 + fake).mean()
    np.testing.assert_allclose(losses.own_hinge_discriminator_loss(real, fake).numpy(), expected_d,
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(losses.own_hinge_generator_loss(fake).numpy(), -fake.mean(), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.skipif(losses.tfgan is None, reason="tensorflow-gan does not import here (TensorFlow >= 2.16): "
                    "only our hinge losses exist on this stack (checked against numpy above)")
@pytest.mark.parametrize("shape", SHAPES)
def test_own_hinge_losses_equal_tensorflow_gans(shape):
    real, fake = _scores(2, shape)
    wargs = losses.tfgan.losses.wargs
    mean = tf.compat.v1.losses.Reduction.MEAN
    ref_d = wargs.wasserstein_hinge_discriminator_loss(real, fake, reduction=mean, loss_collection=None)
    ref_g = wargs.wasserstein_hinge_generator_loss(fake, reduction=mean, loss_collection=None)
    assert abs(losses.own_hinge_discriminator_loss(real, fake).numpy() - ref_d.numpy()) <= 1e-6
    assert abs(losses.own_hinge_generator_loss(fake).numpy() - ref_g.numpy()) <= 1e-6
    assert losses.HINGE_IMPLEMENTATION == "tensorflow_gan"
    # and the entry points (with a global-batch share) use it
    np.testing.assert_allclose(losses.hinge_discriminator_loss(real, fake, global_batch_size=2 * shape[0]).numpy(),
                               ref_d.numpy() / 2, rtol=1e-6)


def test_hinge_implementation_follows_the_import():
    assert losses.HINGE_IMPLEMENTATION == ("tensorflow_gan" if losses.tfgan is not None else "own")


@pytest.mark.parametrize("scale", [0.01, 1.0])
def test_gradient_penalty_of_a_linear_critic(scale):
    """D(x, M) = Σ_pixels w ⊙ x: its gradient is w everywhere, so GP = (‖w‖ − 1)² for any input."""
    rng = _rng()
    w = (rng.normal(size=(1, 4, 4, 3)) * scale).astype(np.float32)

    def critic(inputs, training=None):
        x, _ = inputs
        return tf.reduce_sum(x * w, axis=-1, keepdims=True)

    real = rng.normal(size=(2, 4, 4, 3)).astype(np.float32)
    fake = rng.normal(size=(2, 4, 4, 3)).astype(np.float32)
    valid = np.ones((2, 4, 4, 1), np.float32)
    eps = np.array([0.2, 0.9], np.float32).reshape(2, 1, 1, 1)
    got = losses.gradient_penalty(critic, real, fake, valid, eps).numpy()
    np.testing.assert_allclose(got, (np.sqrt((w ** 2).sum()) - 1.0) ** 2, rtol=1e-4)


def test_gradient_penalty_interpolates_with_epsilon():
    """D(x, M) = ½ Σ x²: its gradient at x̂ is x̂, so GP = mean_i (‖ε_i r_i + (1 − ε_i) f_i‖ − 1)²."""
    rng = _rng()

    def critic(inputs, training=None):
        x, _ = inputs
        return 0.5 * tf.reduce_sum(tf.square(x), axis=-1, keepdims=True)

    real = rng.normal(size=(3, 4, 4, 2)).astype(np.float32) * 0.3
    fake = rng.normal(size=(3, 4, 4, 2)).astype(np.float32) * 0.3 + 0.5
    valid = np.ones((3, 4, 4, 1), np.float32)
    eps = np.array([0.0, 0.3, 1.0], np.float32).reshape(3, 1, 1, 1)
    interp = eps * real + (1 - eps) * fake
    norms = np.sqrt((interp.astype(np.float64) ** 2).reshape(3, -1).sum(1))
    got = losses.gradient_penalty(critic, real, fake, valid, eps).numpy()
    np.testing.assert_allclose(got, np.mean((norms - 1.0) ** 2), rtol=1e-4)


def test_gradient_energy_loss_matches_the_holes_mean_gradient_magnitudes():
    """``mean_b |ē(C_b) − ē(I_b)|`` with ``ē`` the hole's mean ‖Sobel/8 ∇‖ of the grayscale image,
    from OpenCV's filter (gain_tf.evaluation.scores.image_gradient_np), not the TF layer."""
    from gain_tf.evaluation.scores import image_gradient_np
    rng = _rng()
    comp = rng.uniform(-0.3, 0.3, (3, 8, 9, 3)).astype(np.float32)     # less structure
    target = rng.uniform(-1, 1, (3, 8, 9, 3)).astype(np.float32)
    valid = np.ones((3, 8, 9, 1), np.float32)
    valid[0, 2:6, 3:7] = valid[1, 1:4, :] = 0.0              # image 2 has no hole: adds 0

    def mean_norm(x, v):
        norm = np.linalg.norm(image_gradient_np(x), axis=-1)
        hole = v[..., 0] < 0.5
        return np.array([n[h].mean() if h.any() else 0.0 for n, h in zip(norm, hole)])

    expected = np.abs(mean_norm(comp, valid) - mean_norm(target, valid)).mean()
    got = losses.gradient_energy_loss(comp, target, valid).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert expected > 0.05
    # the truth itself scores 0, and the two halves of a batch sum to its mean
    assert float(losses.gradient_energy_loss(target, target, valid)) < 1e-6
    halves = [losses.gradient_energy_loss(comp[s], target[s], valid[s], global_batch_size=3).numpy()
              for s in (slice(0, 1), slice(1, 3))]
    np.testing.assert_allclose(sum(halves), expected, rtol=1e-4)


def test_gradient_energy_loss_pushes_a_flat_fill_towards_more_structure():
    """Its gradient on a near-flat fill of a textured hole raises ‖∇‖ there: a step along −∂L/∂C
    increases the fill's mean gradient magnitude in the hole (OpenCV's Sobel, not the TF layer)."""
    from gain_tf.evaluation.scores import image_gradient_np
    rng = _rng()
    target = rng.uniform(-1, 1, (1, 12, 12, 3)).astype(np.float32)
    valid = np.ones((1, 12, 12, 1), np.float32)
    valid[0, 3:9, 3:9] = 0.0
    hole = valid[0, ..., 0] < 0.5

    def hole_energy(x):
        return np.linalg.norm(image_gradient_np(x), axis=-1)[0][hole].mean()

    comp = tf.Variable(np.where(valid > 0, target, 0.0).astype(np.float32) + 1e-3 * rng.normal(
        size=target.shape).astype(np.float32))
    before = hole_energy(comp.numpy())
    with tf.GradientTape() as tape:
        loss = losses.gradient_energy_loss(comp, target, valid)
    step = tape.gradient(loss, comp) * (1.0 - valid)
    comp.assign_sub(0.05 * step / tf.reduce_max(tf.abs(step)))     # at most 0.05 per value
    assert hole_energy(comp.numpy()) > before + 0.005
    assert hole_energy(target) > hole_energy(comp.numpy())      # not past the truth's


def test_ssim_loss_is_one_minus_the_scored_ssim():
    """``mean_b (1 − SSIM)`` on [-1, 1] equals the numpy SSIM of the scores on [0, 255]."""
    from gain_tf.evaluation.scores import ssim
    rng = _rng()
    target = rng.uniform(-1, 1, (3, 16, 18, 3)).astype(np.float32)
    comp = np.clip(target + rng.normal(0, 0.3, target.shape), -1, 1).astype(np.float32)
    expected = np.mean(1.0 - ssim((comp + 1) * 127.5, (target + 1) * 127.5))
    np.testing.assert_allclose(losses.ssim_loss(comp, target).numpy(), expected, rtol=1e-4)
    assert expected > 0.1
    assert float(losses.ssim_loss(target, target)) < 1e-6
    halves = [losses.ssim_loss(comp[s], target[s], global_batch_size=3).numpy()
              for s in (slice(0, 1), slice(1, 3))]
    np.testing.assert_allclose(sum(halves), expected, rtol=1e-4)


def test_local_gradient_energy_loss_matches_a_numpy_box_mean():
    """``window`` k: the k×k mean of ‖∇‖ (over positions inside the image, a numpy loop) of the
    composite against the truth's, |difference| averaged over each image's hole pixels."""
    from gain_tf.evaluation.scores import image_gradient_np
    rng = _rng()
    comp = rng.uniform(-0.3, 0.3, (2, 9, 10, 3)).astype(np.float32)
    target = rng.uniform(-1, 1, (2, 9, 10, 3)).astype(np.float32)
    valid = np.ones((2, 9, 10, 1), np.float32)
    valid[0, 2:6, 3:8] = valid[1, 0:3, :] = 0.0
    k, r = 5, 2

    def box(x):
        norm = np.linalg.norm(image_gradient_np(x), axis=-1)
        out = np.zeros_like(norm)
        for b, y, xx in np.ndindex(*norm.shape):
            out[b, y, xx] = norm[b, max(0, y - r):y + r + 1, max(0, xx - r):xx + r + 1].mean()
        return out

    diff, hole = np.abs(box(comp) - box(target)), valid[..., 0] < 0.5
    expected = np.mean([d[h].mean() for d, h in zip(diff, hole)])
    got = losses.gradient_energy_loss(comp, target, valid, window=k).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4)
