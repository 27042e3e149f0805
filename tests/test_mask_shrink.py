"""MaskShrink: the properties GAIN_SPEC pins, and the behaviour the paper claims."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf.layers import MaskShrink, PartialConv2D, gradient_input
from tests.layer_checks import check_config_round_trip, check_jit, check_saved_model_round_trip
from tests.test_gai_block import blob_valid


def hook_inputs(valid, guide, k=3, dilation=1):
    """(valid, standard update, window fraction, guide) as PartialConv2D hands them to its hook."""
    pc = PartialConv2D(1, k, dilation_rate=dilation)
    wsum = pc.window_sum(tf.constant(valid))
    return (tf.constant(valid), tf.cast(wsum > 0, tf.float32), wsum / float(k * k),
            tf.constant(guide))


def random_case(seed, b=4, h=20, w=20, c=6):
    rng = np.random.default_rng(seed)
    valid = blob_valid(rng, b, h, w)
    guide = (rng.normal(size=(b, h, w, c)) * valid).astype(np.float32)
    return valid, guide


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_delta_zero_is_the_ordinary_update_bit_for_bit(dilation):
    valid, guide = random_case(dilation)
    inputs = hook_inputs(valid, guide, dilation=dilation)
    np.testing.assert_array_equal(MaskShrink(0.0)(inputs).numpy(), inputs[1].numpy())


@pytest.mark.parametrize("delta", [0.1, 0.4, 0.8, 1.0])
def test_new_mask_lies_between_old_and_ordinary_update(delta):
    valid, guide = random_case(10)
    inputs = hook_inputs(valid, guide)
    m = MaskShrink(delta)(inputs).numpy()
    assert np.all(valid <= m) and np.all(m <= inputs[1].numpy())
    assert set(np.unique(m)) <= {0.0, 1.0}
    if delta >= 0.4:
        assert m.sum() < inputs[1].numpy().sum()


def test_priority_is_zero_off_the_hole_border():
    valid, guide = random_case(11)
    inputs = hook_inputs(valid, guide)
    p = MaskShrink(0.4).priority(inputs).numpy()
    border = inputs[1].numpy() * (1 - valid)
    assert np.all(p[border == 0] == 0)
    assert np.all(p >= 0) and p[border == 1].max() > 0


def test_sample_without_priority_falls_back_to_ordinary_update():
    valid, guide = random_case(12)
    guide[0] = 0.0  # no gradient anywhere: P_max = 0
    inputs = hook_inputs(valid, guide)
    m = MaskShrink(0.4)(inputs).numpy()
    np.testing.assert_array_equal(m[0], inputs[1].numpy()[0])


def test_samples_do_not_influence_each_other():
    valid, guide = random_case(13)
    guide[1] *= 1000.0  # a sample with a much larger P_max
    both = MaskShrink(0.4)(hook_inputs(valid, guide)).numpy()
    for n in range(valid.shape[0]):
        alone = MaskShrink(0.4)(hook_inputs(valid[n:n + 1], guide[n:n + 1])).numpy()
        np.testing.assert_array_equal(both[n:n + 1], alone)


def test_edge_entering_a_hole_is_admitted_before_flat_border():
    """A vertical step edge runs through a rectangular hole: the border pixels where it enters (top
    and bottom) are admitted first; flat border pixels at the same distance are not."""
    h = w = 32
    img = np.full((1, h, w, 3), -0.8, np.float32)
    img[:, :, 16:] = 0.8  # strong vertical edge between columns 15 and 16
    img += np.linspace(0, 0.05, h, dtype=np.float32)[None, :, None, None]  # a weak vertical ramp
    valid = np.ones((1, h, w, 1), np.float32)
    valid[0, 12:24, 6:26] = 0.0
    guide = gradient_input(tf.constant(img), tf.constant(valid)).numpy()
    inputs = hook_inputs(valid, guide)
    new = MaskShrink(0.4)(inputs).numpy()[0, ..., 0]
    admitted = np.argwhere((new == 1) & (valid[0, ..., 0] == 0))
    rows, cols = set(admitted[:, 0]), set(admitted[:, 1])
    assert rows == {12, 23}, admitted  # the top and bottom border rows, where the edge enters
    assert cols <= {14, 15, 16, 17} and {15, 16} <= cols, admitted
    # The ordinary update would admit the whole ring.
    ordinary = inputs[1].numpy()[0, ..., 0] - valid[0, ..., 0]
    assert ordinary.sum() == 2 * (20 + 12) - 4
    # Flat top-border pixels (same distance 1 from the known region) are held back.
    for r in (12, 23):
        assert np.all(new[r, 6:13] == 0) and np.all(new[r, 20:26] == 0)
    assert np.all(new[13:23, 6] == 0) and np.all(new[13:23, 25] == 0)  # flat side borders


def test_serialization_xla_and_no_gradient(tmp_path):
    valid, guide = random_case(14, b=2, h=8, w=8)
    inputs = hook_inputs(valid, guide)
    layer = MaskShrink(0.4)
    check_config_round_trip(layer, inputs)
    check_saved_model_round_trip(layer, inputs, tmp_path)
    check_jit(layer, inputs)
    g = tf.constant(guide)
    with tf.GradientTape() as tape:
        tape.watch(g)
        out = tf.reduce_sum(layer(inputs[:3] + (g,)))
    assert tape.gradient(out, g) is None
