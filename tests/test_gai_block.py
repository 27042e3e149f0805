"""GAIBlock: the spec's data flow, its masks, and hole independence."""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.layers import GAIBlock, MaskShrink, PartialConv2D
from tests.layer_checks import check_config_round_trip, check_jit, check_saved_model_round_trip
from tests.references import blob_valid, numpy_erode, reference_partial_conv


def make_inputs(rng, b=3, h=16, w=16, ci=3, cg=4):
    valid = blob_valid(rng, b, h, w)
    img = rng.normal(size=(b, h, w, ci)).astype(np.float32) * valid
    grad = rng.normal(size=(b, h, w, cg)).astype(np.float32) * valid
    return tf.constant(img), tf.constant(grad), tf.constant(valid)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3), dict(kernel_size=5),
                                    dict(kernel_size=3, strides=2), dict(kernel_size=3, dilation_rate=2)])
def test_output_mask_is_the_partial_conv_update_and_summands_share_it(kwargs):
    rng = np.random.default_rng(0)
    img, grad, valid = make_inputs(rng)
    block = GAIBlock(5, 6, **kwargs)
    out_img, out_grad, m = block((img, grad, valid))
    _, m_ref = PartialConv2D(1, **kwargs)((img, valid))
    np.testing.assert_array_equal(m.numpy(), m_ref.numpy())
    s = block.summands((img, grad, valid))
    for a, b in (("I1", "I2"), ("G1", "G2")):
        np.testing.assert_array_equal(s[a][1].numpy(), s[b][1].numpy())
        np.testing.assert_array_equal(s[a][1].numpy(), m.numpy())
        for key in (a, b):  # every summand is 0 off its mask
            v, mk = s[key][0].numpy(), s[key][1].numpy()
            assert np.all(v[np.broadcast_to(mk == 0, v.shape)] == 0)
    # The data flow: act(I1 + I2), act(G1 + G2).
    elu = tf.keras.activations.elu
    np.testing.assert_allclose(out_img.numpy(), elu(s["I1"][0] + s["I2"][0]).numpy(), atol=1e-6)
    np.testing.assert_allclose(out_grad.numpy(), elu(s["G1"][0] + s["G2"][0]).numpy(), atol=1e-6)
    assert out_img.shape[-1] == 5 and out_grad.shape[-1] == 6
    # Pconv_IG sees the gradient filter's eroded mask, whose own update never leaves M'.
    _, m_ig_std = PartialConv2D(1, 3)((np.zeros(m.shape, np.float32), numpy_erode(m.numpy())))
    assert np.all(m_ig_std.numpy() <= m.numpy())


def test_g2_is_pconv_of_the_gradient_of_i1():
    rng = np.random.default_rng(1)
    img, grad, valid = make_inputs(rng)
    block = GAIBlock(2, 3, 3)
    s = block.summands((img, grad, valid))
    i1, m = s["I1"]
    d_i, m_e = block.grad((i1, m))
    ref, ref_m = reference_partial_conv(d_i.numpy(), m_e.numpy(), block.pconv_ig.kernel.numpy(),
                                        block.pconv_ig.bias.numpy(), 1, 1)
    # Valid on M': the partial convolution where its window saw M_e, else its bias.
    expected = np.where(ref_m > 0, ref, block.pconv_ig.bias.numpy()) * m.numpy()
    np.testing.assert_allclose(s["G2"][0].numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("shrink", [None, MaskShrink(0.4, dilation_rate=2)])
def test_no_valid_output_changes_when_hole_inputs_change(shrink):
    rng = np.random.default_rng(2)
    img, grad, valid = make_inputs(rng)
    block = GAIBlock(4, 4, 3, dilation_rate=2, mask_shrink=shrink)
    a = block((img, grad, valid))
    noise = lambda t: tf.where(valid > 0, t, tf.constant(rng.normal(size=t.shape) * 50, t.dtype))
    b = block((noise(img), noise(grad), valid))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_mask_shrink_restricts_all_mask_updates():
    rng = np.random.default_rng(3)
    img, grad, valid = make_inputs(rng)
    block = GAIBlock(3, 4, 3, mask_shrink=MaskShrink(0.9))
    _, _, m = block((img, grad, valid))
    _, m_std = PartialConv2D(1, 3)((img, valid))
    assert np.all(valid.numpy() <= m.numpy()) and np.all(m.numpy() <= m_std.numpy())
    assert m.numpy().sum() < m_std.numpy().sum()  # something was held back
    s = block.summands((img, grad, valid))
    for key in ("I2", "G1", "G2"):
        np.testing.assert_array_equal(s[key][1].numpy(), m.numpy())


def test_serialization_and_xla(tmp_path):
    rng = np.random.default_rng(4)
    inputs = make_inputs(rng, b=2, h=8, w=8)
    for block in (GAIBlock(3, 4, 3, strides=2), GAIBlock(3, 4, 3, mask_shrink=MaskShrink(0.4)),
                  GAIBlock(3, 2, 3, activation=None)):
        check_config_round_trip(block, inputs)
        check_saved_model_round_trip(block, inputs, tmp_path / block.name)
        check_jit(block, inputs)


def test_the_four_convolutions_start_from_independent_draws():
    """Each partial convolution gets its own initial kernel: no kernel's values are another's
    (or a multiple of another's) in the order they are drawn, and each has the fan-in scaled
    std of its own shape (half the variance: two summands per stream)."""
    tf.keras.utils.set_random_seed(0)
    block = GAIBlock(4, 8, 3)
    block(make_inputs(np.random.default_rng(0), b=2, h=8, w=8, ci=4, cg=8))
    kernels = {n: getattr(block, n).kernel.numpy() for n in ("pconv_ii", "pconv_gg", "pconv_gi",
                                                             "pconv_ig")}
    for (a, ka), (b, kb) in itertools.combinations(kernels.items(), 2):
        n = min(ka.size, kb.size)
        r = np.corrcoef(ka.ravel()[:n], kb.ravel()[:n])[0, 1]
        assert abs(r) < 0.3, (a, b, r)
    for name, k in kernels.items():
        expected = np.sqrt(0.5 / np.prod(k.shape[:3]))
        assert 0.7 * expected < k.std() < 1.3 * expected, (name, k.std(), expected)


def _outputs_and_gradients(block, inputs):
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(inputs[:2])
        img, grad, m = block(inputs)
        loss = tf.reduce_sum(img * tf.sin(img)) + tf.reduce_sum(tf.cos(grad) * grad)
    grads = tape.gradient(loss, list(inputs[:2]) + block.trainable_variables)
    return [img, grad, m], [g for g in grads if g is not None]


@pytest.mark.parametrize("preset", ["tiny", "small", "paper"])
@pytest.mark.parametrize("fusion", [True, False])
@pytest.mark.parametrize("cg", [0, 4])
def test_subgrid_dilated_convolutions_leave_every_block_unchanged(preset, fusion, cg):
    """gain_tf.ops.dilated's sub-grid path against TensorFlow's dilated convolutions, on every
    dilated block of the preset (tiny widths), with its priority where it has one, on a 32×32
    map (every tap lands) and a 16×16 one (dilation 16 keeps only the centre tap): the updated
    mask bit for bit, the two streams and the gradients (inputs and every variable) within 1e-5 of
    each tensor's largest value (float32 rounding of sums in another order; the streams are bit
    for bit on some CPUs)."""
    from gain_tf.config import get_config
    from gain_tf.ops import dilated
    c = get_config(preset).model
    geometries = [dict(dilation_rate=d) for d in c.dilations]
    geometries += [dict(dilation_rate=d, shrink=True) for d in c.dilations if c.mask_priority and cg]
    rng = np.random.default_rng(5)
    for size, geometry in itertools.product((32, 16), geometries):
        inputs = make_inputs(rng, b=2, h=size, w=size, ci=3, cg=max(cg, 2))
        kw = dict(geometry, fusion=fusion and c.fusion == "gai")
        if kw.pop("shrink", False):
            kw["mask_shrink"] = MaskShrink(c.delta, dilation_rate=kw["dilation_rate"])
        block = GAIBlock(5, cg, 3, **kw)
        block(inputs)
        block.set_weights([w + rng.normal(size=w.shape).astype(np.float32) * 0.1
                           for w in block.get_weights()])  # nonzero biases too
        new = _outputs_and_gradients(block, inputs)
        with dilated.nominal():
            old = _outputs_and_gradients(block, inputs)
        np.testing.assert_array_equal(new[0][2].numpy(), old[0][2].numpy(), f"{size} {geometry}")
        assert len(new[1]) == len(old[1]) == 1 + bool(cg) + len(block.trainable_variables)
        for a, b in zip(new[0][:2] + new[1], old[0][:2] + old[1]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0,
                                       atol=1e-5 * np.abs(b.numpy()).max(initial=0.0),
                                       err_msg=f"{size} {geometry}")
