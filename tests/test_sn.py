"""Spectral normalisation on both stacks: what GAIN relies on, for tensorflow-addons' layer (where it
imports) and Keras's (``gain_tf.ops.sn.KerasSpectralNormalization``, everywhere):

* one power-iteration step per training call, none otherwise;
* the kernel variable divided in place by σ (the layer then runs with the divided kernel);
* no gradient through σ (the gradient is the plain convolution's at the divided kernel);
* σ ≈ 1 after a few calls.

On the reference stack both exist and are also compared with each other. docs/stacks.md lists
where they differ.
"""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf.ops import sn

IMPLS = ["keras"] + (["tensorflow_addons"] if sn.tfa is not None else [])
# Traced (tf.function, as in the train step): the implementation in use. Keras 2.15's own layer (the
# reference stack's tf.keras) cannot be traced: it branches with a Python `if` on a tensor.
TRACED = [sn.IMPLEMENTATION]


def _wrap(impl, layer, dtype=None):
    if impl == "tensorflow_addons":
        return sn.tfa.layers.SpectralNormalization(layer, power_iterations=1, dtype=dtype)
    return sn.KerasSpectralNormalization(layer, power_iterations=1, dtype=dtype)


def _u(wrapper):
    return wrapper.vector_u if hasattr(wrapper, "vector_u") else wrapper.u


def _built(impl, seed=0, channels=6, dtype=None):
    """A wrapped 3×3 Conv2D (5 -> ``channels``) with a seeded kernel, bias and ``u``, and an input."""
    rng = np.random.default_rng(seed)
    layer = tf.keras.layers.Conv2D(channels, 3, padding="same", dtype=dtype)
    wrapper = _wrap(impl, layer, dtype)
    x = tf.constant(rng.normal(size=(2, 8, 8, 5)).astype(np.float32))
    wrapper(x, training=False)
    layer.kernel.assign(rng.normal(0, 0.5, layer.kernel.shape).astype(np.float32))
    layer.bias.assign(rng.normal(0, 0.1, layer.bias.shape).astype(np.float32))
    _u(wrapper).assign(rng.normal(0, 0.02, _u(wrapper).shape).astype(np.float32))
    return wrapper, layer, x


def _l2n(a):
    return a / np.sqrt(np.sum(a * a))


def _conv(x, kernel, bias):
    return tf.nn.conv2d(x, kernel, 1, "SAME") + bias


@pytest.mark.parametrize("impl,traced", [(i, False) for i in IMPLS] + [(i, True) for i in TRACED])
def test_one_power_iteration_per_training_call_divides_the_kernel_in_place(impl, traced):
    wrapper, layer, x = _built(impl)
    call = lambda t: wrapper(t, training=True)  # noqa: E731
    if traced:
        call = tf.function(call)
    kernel_var = layer.kernel
    w0 = layer.kernel.numpy()
    u0 = _u(wrapper).numpy()
    w = w0.reshape(-1, w0.shape[-1])
    v = _l2n(u0 @ w.T)
    u1 = _l2n(v @ w)
    sigma = (v @ w @ u1.T).item()

    y = call(x)
    assert layer.kernel is kernel_var                       # the same variable, divided in place
    np.testing.assert_allclose(layer.kernel.numpy(), w0 / sigma, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_u(wrapper).numpy(), u1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(y.numpy(), _conv(x, w0 / sigma, layer.bias).numpy(), rtol=1e-4, atol=1e-5)

    w1, u_after = layer.kernel.numpy(), _u(wrapper).numpy()
    wrapper(x, training=False)                               # inference: no iteration, no division
    wrapper(x)
    np.testing.assert_array_equal(layer.kernel.numpy(), w1)
    np.testing.assert_array_equal(_u(wrapper).numpy(), u_after)


@pytest.mark.parametrize("impl", IMPLS)
def test_no_gradient_through_sigma(impl):
    wrapper, layer, x = _built(impl, seed=1)
    r = tf.constant(np.random.default_rng(2).normal(size=(2, 8, 8, 6)).astype(np.float32))
    w0 = tf.constant(layer.kernel.numpy())
    u_before = _u(wrapper).numpy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(wrapper(x, training=True) * r)
    got = tape.gradient(loss, layer.kernel).numpy()
    kernel_now = tf.constant(layer.kernel.numpy())
    with tf.GradientTape() as tape:                          # σ held constant: the plain conv's gradient
        tape.watch(kernel_now)
        plain = tf.reduce_sum(_conv(x, kernel_now, layer.bias) * r)
    np.testing.assert_allclose(got, tape.gradient(plain, kernel_now).numpy(), rtol=1e-4, atol=1e-5)
    # The test can tell: differentiating through σ(W) = v W uᵀ (u, v of this call held) differs.
    u0 = tf.constant(u_before)
    with tf.GradientTape() as tape:
        tape.watch(w0)
        wm = tf.reshape(w0, [-1, w0.shape[-1]])
        v = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(u0, wm, transpose_b=True)))
        u1 = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(v, wm)))
        sigma = tf.matmul(tf.matmul(v, wm), u1, transpose_b=True)
        through = tf.reduce_sum(_conv(x, w0 / sigma, layer.bias) * r)
    assert np.abs(tape.gradient(through, w0).numpy() - got).max() > 1e-3
    assert _u(wrapper).trainable is False                    # u is state, never trained


@pytest.mark.parametrize("impl", IMPLS)
def test_sigma_is_one_after_a_few_calls(impl):
    wrapper, layer, x = _built(impl, seed=3)
    for _ in range(10):
        wrapper(x, training=True)
    k = layer.kernel.numpy()
    sigma = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]
    assert abs(sigma - 1.0) < 0.02, sigma


@pytest.mark.parametrize("impl", IMPLS)
def test_mixed_float16_keeps_float32_variables(impl):
    """Under ``mixed_float16`` (the trainer's --mixed_precision) the variables stay float32 and are
    still divided by σ; the output is float16."""
    wrapper, layer, x = _built(impl, seed=4, dtype="mixed_float16")
    w0 = layer.kernel.numpy()
    for _ in range(5):
        y = wrapper(x, training=True)
    assert y.dtype == tf.float16
    assert layer.kernel.dtype == tf.float32 and _u(wrapper).dtype == tf.float32
    k = layer.kernel.numpy()
    assert np.isfinite(k).all() and not np.allclose(k, w0)
    sigma = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]
    assert abs(sigma - 1.0) < 0.05, sigma


@pytest.mark.skipif(sn.tfa is None, reason="tensorflow-addons does not import here (TensorFlow >= 2.16): "
                    "only Keras's SpectralNormalization exists on this stack")
def test_tensorflow_addons_and_keras_agree_call_by_call():
    a, la, x = _built("tensorflow_addons", seed=5)
    k, lk, _ = _built("keras", seed=5)
    for _ in range(5):
        ya, yk = a(x, training=True), k(x, training=True)
        np.testing.assert_allclose(yk.numpy(), ya.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(lk.kernel.numpy(), la.kernel.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(_u(k).numpy(), _u(a).numpy(), rtol=1e-6, atol=1e-7)


def test_the_implementation_follows_the_import():
    assert sn.IMPLEMENTATION == ("tensorflow_addons" if sn.tfa is not None else "keras")
    wrapped = sn.spectral_norm(tf.keras.layers.Conv2D(2, 3))
    if sn.tfa is not None:
        assert isinstance(wrapped, sn.tfa.layers.SpectralNormalization)
    else:
        assert isinstance(wrapped, sn.KerasSpectralNormalization)


def test_keras_layer_checkpoints_u_under_the_tensorflow_addons_name():
    wrapper, _, _ = _built("keras", seed=6)
    children = wrapper._trackable_children()
    assert children["u"] is wrapper.vector_u and children["vector_u"] is wrapper.vector_u
