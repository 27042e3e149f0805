"""The gradient operator: image_gradient, G's input gradient, GradientFilter."""
import numpy as np
import tensorflow as tf

from gain_tf.layers import GradientFilter, gradient_input, image_gradient
from tests.references import numpy_erode
from tests.layer_checks import check_config_round_trip, check_jit, check_saved_model_round_trip


def test_image_gradient_of_linear_ramp_is_its_slope():
    h, w = 12, 15
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gray = 0.03 * xx - 0.05 * yy
    img = np.repeat(gray[None, :, :, None], 3, axis=-1)  # gray weights sum to 1
    g = image_gradient(tf.constant(img)).numpy()[0, 1:-1, 1:-1]
    np.testing.assert_allclose(g[..., 0], 0.03, atol=1e-6)
    np.testing.assert_allclose(g[..., 1], -0.05, atol=1e-6)


def test_image_gradient_uses_the_gray_weights():
    img = np.zeros((1, 5, 5, 3), np.float32)
    img[..., 1] = np.arange(5, dtype=np.float32)[None, None, :]  # green ramp along x
    g = image_gradient(tf.constant(img)).numpy()[0, 2, 2]
    np.testing.assert_allclose(g, [0.587, 0.0], atol=1e-6)


def random_valid(rng, shape=(3, 14, 17, 1)):
    valid = (rng.random(shape) > 0.3).astype(np.float32)
    valid[1] = 1.0
    return valid


def test_gradient_filter_mask_is_erosion_and_values_are_per_channel_sobel():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 14, 17, 4)).astype(np.float32)
    valid = random_valid(rng)
    dx, m_e = GradientFilter()((x, valid))
    np.testing.assert_array_equal(m_e.numpy(), numpy_erode(valid))
    assert dx.shape == (3, 14, 17, 8)
    # Independent reference: Sobel/8 by explicit differences on channel 2, interior pixel.
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]) / 8.0
    n, i, j, c = 1, 5, 6, 2
    patch = x[n, i - 1:i + 2, j - 1:j + 2, c]
    np.testing.assert_allclose(dx.numpy()[n, i, j, c], (patch * sx).sum(), atol=1e-5)
    np.testing.assert_allclose(dx.numpy()[n, i, j, 4 + c], (patch * sx.T).sum(), atol=1e-5)
    assert np.all(dx.numpy()[np.broadcast_to(m_e.numpy() == 0, dx.shape)] == 0)


def test_gradient_input_ignores_hole_pixels_and_is_zero_on_holes():
    rng = np.random.default_rng(1)
    img = rng.uniform(-1, 1, size=(3, 16, 16, 3)).astype(np.float32)
    valid = random_valid(rng, (3, 16, 16, 1))
    valid[2] = 0.0
    valid[2, 4:12, 3:13] = 1.0
    g1 = gradient_input(tf.constant(img), tf.constant(valid)).numpy()
    img2 = np.where(valid > 0, img, rng.uniform(-5, 5, size=img.shape)).astype(np.float32)
    g2 = gradient_input(tf.constant(img2), tf.constant(valid)).numpy()
    np.testing.assert_array_equal(g1, g2)
    assert np.all(g1[np.broadcast_to(valid == 0, g1.shape)] == 0)
    # Inside the eroded region it is the true image gradient.
    m0 = numpy_erode(valid)
    full = image_gradient(tf.constant(img)).numpy()
    sel = np.broadcast_to(m0 > 0, full.shape)
    np.testing.assert_allclose(g1[sel], full[sel], atol=1e-6)


def test_gradient_input_fills_the_ring_with_the_mean_of_valid_neighbours():
    # A unit ramp in a known square: the ring pixels must get the ramp's slope (mean of slopes).
    yy, xx = np.mgrid[0:12, 0:12].astype(np.float32)
    img = np.repeat((0.1 * xx)[None, :, :, None], 3, -1)
    valid = np.zeros((1, 12, 12, 1), np.float32)
    valid[0, 2:10, 2:10] = 1.0
    g = gradient_input(tf.constant(img), tf.constant(valid)).numpy()[0]
    np.testing.assert_allclose(g[2:10, 2:10, 0], 0.1, atol=1e-6)
    np.testing.assert_allclose(g[2:10, 2:10, 1], 0.0, atol=1e-6)


def test_gradient_filter_serialization_and_xla(tmp_path):
    rng = np.random.default_rng(2)
    inputs = (tf.constant(rng.normal(size=(2, 8, 8, 3)).astype(np.float32)),
              tf.constant(random_valid(rng, (2, 8, 8, 1))))
    layer = GradientFilter()
    check_config_round_trip(layer, inputs)
    check_saved_model_round_trip(layer, inputs, tmp_path)
    check_jit(layer, inputs)
