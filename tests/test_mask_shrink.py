"""MaskShrink: P against a numpy loop, the properties the README pins, and the paper's behaviour."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf.layers import GAIBlock, MaskShrink, PartialConv2D, gradient_input
from tests.layer_checks import check_config_round_trip, check_jit, check_saved_model_round_trip
from tests.references import blob_valid


SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64) / 8.0
TAPS = [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)]


def reference_priority(valid, guide, d):
    """P for one sample by plain loops over the README's definition (float64).

    valid ``[H,W]`` (1 = known; outside the image = hole), guide ``[H,W,K]``; window 3×3 at d.
    """
    h, w = valid.shape
    m = lambda y, x: valid[y, x] if 0 <= y < h and 0 <= x < w else 0.0
    frac = lambda y, x: sum(m(y + i * d, x + j * d) for i, j in TAPS) / 9.0
    s_map = guide.astype(np.float64).mean(-1) * valid
    inner = np.array([[all(m(y + i, x + j) for i, j in TAPS) for x in range(w)] for y in range(h)],
                     np.float64)
    s0 = np.zeros((h, w, 2))
    for y, x in zip(*np.nonzero(inner)):
        for i, j in TAPS:
            s0[y, x, 0] += SOBEL_X[i + 1, j + 1] * s_map[y + i, x + j]
            s0[y, x, 1] += SOBEL_X[j + 1, i + 1] * s_map[y + i, x + j]
    s1 = s0.copy()
    for y in range(h):
        for x in range(w):
            if valid[y, x] and not inner[y, x]:          # the ring: mean of inner neighbours
                nb = [(y + i, x + j) for i, j in TAPS if 0 <= y + i < h and 0 <= x + j < w
                      and inner[y + i, x + j]]
                s1[y, x] = np.mean([s0[q] for q in nb], axis=0) if nb else 0.0
    p = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            c = frac(y, x)
            if valid[y, x] or c == 0:
                continue                                  # not on the border B
            n = np.array([sum(SOBEL_X[i + 1, j + 1] * frac(y + i * d, x + j * d) for i, j in TAPS),
                          sum(SOBEL_X[j + 1, i + 1] * frac(y + i * d, x + j * d) for i, j in TAPS)])
            n = n / np.linalg.norm(n) if np.linalg.norm(n) > 0 else n
            known = [(y + i * d, x + j * d) for i, j in TAPS if m(y + i * d, x + j * d)]
            g = np.mean([s1[q] for q in known], axis=0)
            p[y, x] = c * abs(n[0] * -g[1] + n[1] * g[0])
    return p


def edge_case(h=24, w=24):
    """A rectangular hole that a straight vertical edge of S (the stream's channel mean) enters
    from above; three channels whose mean is S, each far from it."""
    valid = np.ones((h, w), np.float32)
    valid[8:18, 4:20] = 0.0
    s_map = np.where(np.arange(w) >= 12, 1.0, 0.0)[None, :] * np.ones((h, 1))
    t = np.random.default_rng(0).normal(size=(h, w))
    guide = np.stack([s_map + t, s_map - t, s_map], -1) * valid[..., None]
    return valid, guide.astype(np.float32)


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
    # S (the stream's channel mean) has a ridge at the edge; its gradient spans cols 13..18.
    assert cols <= set(range(13, 19)) and {15, 16} <= cols, admitted
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


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_priority_matches_the_numpy_loop(dilation):
    valid, guide = edge_case()
    p = MaskShrink(0.4, dilation_rate=dilation).priority(
        hook_inputs(valid[None, ..., None], guide[None], dilation=dilation)).numpy()[0, ..., 0]
    ref = reference_priority(valid, guide, dilation)
    assert ref.max() > 0
    np.testing.assert_allclose(p, ref, rtol=1e-5, atol=1e-7)
    valid, guide = random_case(dilation, b=3, h=14, w=14, c=5)   # and random blobs and streams
    p = MaskShrink(0.4, dilation_rate=dilation).priority(
        hook_inputs(valid, guide, dilation=dilation)).numpy()[0, ..., 0]
    np.testing.assert_allclose(p, reference_priority(valid[0, ..., 0], guide[0], dilation),
                               rtol=1e-5, atol=1e-7)


def test_dilated_block_admits_edge_pixels_beyond_the_one_pixel_ring():
    """d = 2: the border reaches 2 px into the hole; the edge column is admitted at both depths,
    flat border pixels are not."""
    valid, guide = edge_case()
    inputs = hook_inputs(valid[None, ..., None], guide[None], dilation=2)
    new = MaskShrink(0.4, dilation_rate=2)(inputs).numpy()[0, ..., 0]
    admitted = np.argwhere((new == 1) & (valid == 0))
    assert {8, 9} <= set(admitted[:, 0])                 # depth 1 and depth 2 from the top edge
    assert set(admitted[:, 1]) <= set(range(9, 15)), admitted   # around the edge at col 11.5
    ordinary = inputs[1].numpy()[0, ..., 0] * (1 - valid)
    assert ordinary[9].sum() > 0 and ordinary.sum() > 3 * len(admitted)
    assert np.all(new[8:10, 4:8] == 0) and np.all(new[8:10, 16:20] == 0)


def test_priority_ignores_the_order_of_the_stream_channels():
    valid, guide = random_case(21, c=8)
    perm = np.random.default_rng(1).permutation(8)
    layer = MaskShrink(0.4, dilation_rate=2)
    a, b = (hook_inputs(valid, g, dilation=2) for g in (guide, guide[..., perm]))
    np.testing.assert_allclose(layer.priority(b).numpy(), layer.priority(a).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(layer(b).numpy(), layer(a).numpy())


def test_mixed_float16_block_admits_exactly_the_float32_pixels():
    """A GAI-Block under mixed_float16 (fp16 stream, fp32 priority) admits the same pixels as in
    float32 for the same (fp16-representable) inputs; a large hole used to admit none (NaN P)."""
    rng = np.random.default_rng(4)
    valid = np.ones((2, 64, 64, 1), np.float32)
    valid[0, 8:56, 8:56] = 0.0
    valid[1, 20:50, 5:40] = 0.0
    grad = (rng.normal(size=(2, 64, 64, 8)) * valid).astype(np.float16).astype(np.float32)
    img = (rng.normal(size=(2, 64, 64, 4)) * valid).astype(np.float16).astype(np.float32)
    masks = {}
    for policy in ("float32", "mixed_float16"):
        tf.keras.mixed_precision.set_global_policy(policy)
        try:
            block = GAIBlock(4, 8, 3, dilation_rate=2,
                             mask_shrink=MaskShrink(0.4, dilation_rate=2))
            masks[policy] = block((tf.constant(img), tf.constant(grad), tf.constant(valid)))[2]
        finally:
            tf.keras.mixed_precision.set_global_policy("float32")
    m32, m16 = masks["float32"].numpy(), masks["mixed_float16"].numpy().astype(np.float32)
    assert masks["mixed_float16"].dtype == tf.float16
    np.testing.assert_array_equal(m16, m32)
    for n in range(2):
        admitted = (m32[n] - valid[n]).sum()
        assert 0 < admitted < (PartialConv2D(1, 3, dilation_rate=2).window_sum(
            tf.constant(valid[n:n + 1])).numpy() > 0).sum() - valid[n].sum()


def test_block_rejects_a_hook_of_another_dilation():
    with pytest.raises(ValueError, match="dilation_rate=4"):
        GAIBlock(4, 4, 3, dilation_rate=4, mask_shrink=MaskShrink(0.4, dilation_rate=2))
