"""PartialConv2D against a plain numpy loop of the partial-convolution formula."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf.layers import PartialConv2D
from tests.layer_checks import check_config_round_trip, check_jit, check_saved_model_round_trip
from tests.references import reference_partial_conv


def random_batch(rng, h=11, w=13, c=3):
    x = rng.normal(size=(4, h, w, c)).astype(np.float32)
    valid = (rng.random((4, h, w, 1)) > 0.6).astype(np.float32)
    valid[1] = 0.0  # all hole
    valid[2] = 1.0  # all valid
    return x, valid


@pytest.mark.parametrize("k,dilation,stride", [(3, 1, 1), (5, 1, 1), (7, 1, 1), (3, 2, 1), (3, 4, 1),
                                               (5, 2, 1), (3, 1, 2), (5, 1, 2), (7, 1, 2)])
def test_matches_numpy_loop(k, dilation, stride):
    rng = np.random.default_rng(k * 100 + dilation * 10 + stride)
    x, valid = random_batch(rng)
    layer = PartialConv2D(4, k, strides=stride, dilation_rate=dilation,
                          bias_initializer=tf.keras.initializers.RandomNormal(seed=1))
    y, m = layer((x, valid))
    ref_y, ref_m = reference_partial_conv(x, valid, layer.kernel.numpy(), layer.bias.numpy(),
                                          stride, dilation)
    np.testing.assert_array_equal(m.numpy(), ref_m)
    np.testing.assert_allclose(y.numpy(), ref_y, atol=1e-5)
    assert np.all(y.numpy()[1] == 0)  # an all-hole sample gives zeros and an empty mask


def test_all_valid_equals_conv2d_away_from_border():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 16, 16, 5)).astype(np.float32)
    layer = PartialConv2D(6, 5, dilation_rate=2,
                          bias_initializer=tf.keras.initializers.RandomNormal(seed=2))
    y, m = layer((x, np.ones((2, 16, 16, 1), np.float32)))
    ref = tf.nn.conv2d(x, layer.kernel, 1, "SAME", dilations=2) + layer.bias
    r = 4  # half the dilated kernel extent
    np.testing.assert_allclose(y.numpy()[:, r:-r, r:-r], ref.numpy()[:, r:-r, r:-r], atol=1e-5)
    assert np.all(m.numpy() == 1)


def test_hole_values_do_not_matter_and_masks_get_no_gradient():
    rng = np.random.default_rng(3)
    x, valid = random_batch(rng)
    layer = PartialConv2D(4, 3, activation="elu")
    y1, _ = layer((x, valid))
    x2 = np.where(valid > 0, x, 100.0 * rng.normal(size=x.shape)).astype(np.float32)
    y2, _ = layer((x2, valid))
    np.testing.assert_allclose(y1.numpy(), y2.numpy(), atol=1e-5)
    xt, vt = tf.constant(x), tf.constant(valid)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([xt, vt])
        y, m = layer((xt, vt))
        loss = tf.reduce_sum(y) + tf.reduce_sum(m)
    assert tape.gradient(loss, vt) is None
    g = tape.gradient(loss, xt).numpy()
    assert np.isfinite(g).all() and np.abs(g).sum() > 0


def test_mask_update_hook_replaces_the_update():
    class KeepOld(tf.keras.layers.Layer):
        def call(self, inputs):
            valid, standard, fraction, guide = inputs
            return valid

    rng = np.random.default_rng(4)
    x, valid = random_batch(rng)
    layer = PartialConv2D(3, 3, mask_update=KeepOld())
    y, m = layer((x, valid))
    np.testing.assert_array_equal(m.numpy(), valid)
    assert np.all(y.numpy()[np.broadcast_to(valid == 0, y.shape)] == 0)


def test_serialization_and_xla(tmp_path):
    rng = np.random.default_rng(5)
    x, valid = random_batch(rng)
    inputs = (tf.constant(x), tf.constant(valid))
    layer = PartialConv2D(4, 3, strides=2, activation="elu")
    check_config_round_trip(layer, inputs)
    check_saved_model_round_trip(layer, inputs, tmp_path)
    check_jit(layer, inputs)
