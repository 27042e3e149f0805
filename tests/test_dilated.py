"""gain_tf.ops.dilated: 'SAME' dilated convolutions on the dilation's sub-grids."""
import itertools
import sys

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.ops import dilated
from gain_tf.ops.dilated import conv2d_same
from tests.processes import Child, base_env


def reference_conv(x, kernel, dilation, depthwise=False):
    """Numpy loop over output pixels and taps: 'SAME' placement, zeros outside the map."""
    b, h, w, c = x.shape
    kh, kw = kernel.shape[:2]
    dh, dw = dilation
    y = np.zeros((b, h, w, c * kernel.shape[3] if depthwise else kernel.shape[3]))
    for i, j, u, v in itertools.product(range(h), range(w), range(kh), range(kw)):
        r, s = i + (u - kh // 2) * dh, j + (v - kw // 2) * dw
        if 0 <= r < h and 0 <= s < w:
            if depthwise:
                y[:, i, j] += (x[:, r, s, :, None] * kernel[u, v]).reshape(b, -1)
            else:
                y[:, i, j] += x[:, r, s] @ kernel[u, v]
    return y


# (height, width, kernel, dilation): multiples of the dilation, not, taps that never land inside
# (dilation >= the map: the 1×1 centre tap), one side only, a 5×5 kernel.
CASES = [(16, 16, 3, (2, 2)), (16, 16, 3, (8, 8)), (32, 32, 3, (16, 16)), (20, 14, 3, (4, 4)),
         (16, 16, 3, (16, 16)), (8, 8, 3, (16, 16)), (12, 40, 3, (16, 16)), (18, 18, 5, (3, 3)),
         (16, 16, 3, (1, 4))]


@pytest.mark.parametrize("h,w,k,dilation", CASES)
@pytest.mark.parametrize("depthwise", [False, True])
def test_matches_a_numpy_loop(h, w, k, dilation, depthwise):
    rng = np.random.default_rng(h * w + k)
    x = rng.normal(size=(2, h, w, 3)).astype(np.float32)
    kernel = rng.normal(size=(k, k, 3, 2 if depthwise else 4)).astype(np.float32)
    y = conv2d_same(tf.constant(x), tf.constant(kernel), dilations=dilation, depthwise=depthwise)
    np.testing.assert_allclose(y.numpy(), reference_conv(x, kernel, dilation, depthwise),
                               rtol=1e-5, atol=1e-5)


def _value_and_gradients(x, kernel, dilation, depthwise=False):
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = conv2d_same(x, kernel, dilations=dilation, depthwise=depthwise)
        loss = tf.reduce_sum(tf.sin(y) * y)
    return [y] + tape.gradient(loss, [x, kernel])


@pytest.mark.parametrize("h,w,k,dilation", CASES)
def test_equals_tensorflows_dilated_convolution(h, w, k, dilation):
    """Forward, input and kernel gradients within float32 rounding of their sums (bit for bit on
    some CPUs; oneDNN's blocking, and so the order of a sum, depends on the CPU and the shape)."""
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(2, h, w, 8)), tf.float32)
    kernel = tf.constant(rng.normal(size=(k, k, 8, 6)) * 0.2, tf.float32)
    new = _value_and_gradients(x, kernel, dilation)
    with dilated.nominal():
        old = _value_and_gradients(x, kernel, dilation)
    for a, b in zip(new, old):
        scale = np.abs(b.numpy()).max()
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6 * scale)


def test_a_graph_for_any_size_keeps_tensorflows_convolution():
    """Traced for any H, W (a serving signature), it is TensorFlow's pattern, which tf2onnx turns
    into one dilated Conv; still the same result, here at a size that is not a multiple of 4."""
    rng = np.random.default_rng(2)
    kernel = tf.constant(rng.normal(size=(3, 3, 3, 4)), tf.float32)
    f = tf.function(lambda x: conv2d_same(x, kernel, dilations=(4, 4)),
                    input_signature=[tf.TensorSpec([None, None, None, 3])])
    ops = [op.type for op in f.get_concrete_function().graph.get_operations()]
    assert ops.count("SpaceToBatchND") == 1 and "Pad" not in ops
    x = rng.normal(size=(1, 13, 10, 3)).astype(np.float32)
    np.testing.assert_allclose(f(x).numpy(), reference_conv(x, kernel.numpy(), (4, 4)),
                               rtol=1e-5, atol=1e-5)


def _op_types(fn, shape):
    graph = tf.function(fn).get_concrete_function(tf.TensorSpec(shape)).graph
    return [op.type for op in graph.get_operations()]


def test_dead_taps_are_dropped_and_strided_convolutions_untouched():
    kernel = tf.ones((3, 3, 4, 4))
    # dilation 16 on a 16×16 map: only the centre tap can land inside -> one 1×1 Conv2D
    ops = _op_types(lambda x: conv2d_same(x, kernel, dilations=(16, 16)), [1, 16, 16, 4])
    assert "SpaceToBatchND" not in ops and ops.count("Conv2D") == 1
    ops = _op_types(lambda x: conv2d_same(x, kernel, dilations=(8, 8)), [1, 16, 16, 4])
    assert ops.count("SpaceToBatchND") == 1
    ops = _op_types(lambda x: conv2d_same(x, kernel, strides=(2, 2)), [1, 16, 16, 4])
    assert "SpaceToBatchND" not in ops and ops.count("Conv2D") == 1


def test_flops_are_counted_for_every_tap():
    """gain_tf.flops traces under dilated.nominal(): a 3×3 kernel at dilation 16 on a 16×16 map
    counts nine taps (2 · 9 · C_in · C_out per output), though only the centre one runs; the
    switch is restored after the trace."""
    from gain_tf.flops import graph_flops
    kernel = tf.ones((3, 3, 4, 5))
    spec = tf.TensorSpec([1, 16, 16, 4])
    count = graph_flops(lambda x: conv2d_same(x, kernel, dilations=(16, 16)), spec,
                        op_types=("Conv2D",))
    assert count == 2 * 9 * 4 * 5 * 16 * 16
    assert dilated.SUBGRIDS
    with pytest.raises(ZeroDivisionError), dilated.nominal():
        assert not dilated.SUBGRIDS
        1 / 0
    assert dilated.SUBGRIDS


ONEDNN_OFF = """
import numpy as np, tensorflow as tf
from gain_tf.ops.dilated import conv2d_same
x = tf.constant(np.random.default_rng(0).normal(size=(2, 16, 16, 3)), tf.float32)
k = tf.constant(np.random.default_rng(1).normal(size=(3, 3, 3, 5)), tf.float32)
with tf.GradientTape() as tape:
    tape.watch([x, k])
    y = conv2d_same(x, k, dilations=(4, 4))
    loss = tf.reduce_sum(y * y)
gx, gk = tape.gradient(loss, [x, k])
np.save("{out}", np.concatenate([y.numpy().ravel(), gx.numpy().ravel(), gk.numpy().ravel()]))
"""


def test_backward_with_onednn_off_equals_onednn_on(tmp_path):
    """TensorFlow's native dilated Conv2D has no backward with oneDNN off; this path does."""
    results = []
    for flag in ("0", "1"):
        out = tmp_path / f"onednn{flag}.npy"
        child = Child([sys.executable, "-c", ONEDNN_OFF.format(out=out)],
                      base_env(TF_ENABLE_ONEDNN_OPTS=flag), str(tmp_path / f"child{flag}"))
        code, _, err = child.wait()
        assert code == 0, err[-2000:]
        results.append(np.load(out))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-4, atol=1e-4)
