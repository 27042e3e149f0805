"""Contextual attention at its defaults (mode='deepfill') against an independent numpy reference of
DeepFill v1's published op (tests/deepfill_reference.py), per sample with each sample's own mask."""
import json

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.config import GAINConfig
from gain_tf.layers.attention_ops import resize_nearest_aligned
from gain_tf.layers.contextual_attention import ContextualAttention
from tests.deepfill_reference import deepfill_contextual_attention, resize_nearest_align_corners
from tests.layer_checks import check_config_round_trip, check_jit, check_saved_model_round_trip


def batch_with_different_holes(seed, shape=(4, 16, 16, 4)):
    """Sample 0: a central hole; 1: a hole touching the top-left border; 2: scattered holes;
    3: a hole over nearly everything (no candidate at rate 2)."""
    rng = np.random.default_rng(seed)
    b, h, w, _ = shape
    x = rng.normal(size=shape).astype(np.float32)
    valid = np.ones((b, h, w, 1), np.float32)
    valid[0, h // 4:h // 2 + 2, w // 3:w - 3] = 0.0
    valid[1, 0:5, 0:7] = 0.0
    valid[2] = (rng.uniform(size=(h, w, 1)) > 0.12).astype(np.float32)
    valid[3] = 0.0
    valid[3, 0, 0] = 1.0
    return x, valid


@pytest.mark.parametrize("shape,kwargs", [
    ((4, 16, 16, 4), dict()),
    ((4, 16, 16, 4), dict(fuse=False)),
    ((4, 24, 32, 3), dict()),
    ((4, 16, 16, 4), dict(rate=1, softmax_scale=1.0)),
    ((4, 16, 24, 2), dict(rate=4, ksize=2, fuse_k=4)),
])
def test_matches_the_numpy_reference_on_hole_positions(shape, kwargs):
    x, valid = batch_with_different_holes(1, shape)
    out = ContextualAttention(**kwargs)((tf.constant(x), tf.constant(valid))).numpy()
    for n in range(shape[0]):
        ref = deepfill_contextual_attention(x[n], 1.0 - valid[n, ..., 0], **kwargs)
        hole = valid[n, ..., 0] == 0
        np.testing.assert_allclose(out[n][hole], ref[hole], atol=1e-4, rtol=0)
        np.testing.assert_array_equal(out[n][~hole], x[n][~hole])
    assert np.abs(out[0]).max() > 0 and np.all(out[3][valid[3, ..., 0] == 0] == 0)


def test_differs_from_the_exact_mode():
    x, valid = batch_with_different_holes(2)
    inputs = (tf.constant(x), tf.constant(valid))
    a = ContextualAttention()(inputs).numpy()
    b = ContextualAttention(mode="exact")(inputs).numpy()
    assert np.abs(a[:3] - b[:3]).max() > 0.1


@pytest.mark.parametrize("n_in,n_out", [(64, 32), (32, 16), (16, 8), (33, 7), (10, 1), (5, 9),
                                        (256, 64), (7, 7)])
def test_resize_is_tf1_nearest_with_align_corners(n_in, n_out):
    x = np.arange(2 * n_in * (n_in + 3), dtype=np.float32).reshape(1, n_in, n_in + 3, 2)
    ours = resize_nearest_aligned(tf.constant(x), n_out, n_out + 1).numpy()
    tf1 = tf.compat.v1.image.resize_nearest_neighbor(x, [n_out, n_out + 1], align_corners=True)
    np.testing.assert_array_equal(ours, tf1.numpy())
    np.testing.assert_array_equal(ours[0], resize_nearest_align_corners(x[0], n_out, n_out + 1))
    if (n_in, n_out) == (64, 32):   # rows 0, 2, …, 30, 33, 35, …: not x[::2]
        rows = ours[0, :, 0, 0] // x[0, 1, 0, 0]
        assert list(rows[:17]) == list(range(0, 32, 2)) + [33] and rows[-1] == 63


def test_streams_share_the_weights_and_dtypes():
    x, valid = batch_with_different_holes(3)
    inputs = (tf.constant(x), tf.constant(valid))
    layer = ContextualAttention()
    second = tf.constant(x[..., :2] * -3.0)
    out_first, out_second = layer(((inputs[0], second), inputs[1]))
    np.testing.assert_allclose(out_first.numpy(), layer(inputs).numpy(), atol=1e-6)
    # pasting is linear in the pasted stream: -3 × the first stream's channels
    np.testing.assert_allclose(out_second.numpy(), -3.0 * out_first.numpy()[..., :2], atol=1e-4)
    half = ContextualAttention(dtype="mixed_float16")(inputs)
    assert half.dtype == tf.float16
    np.testing.assert_allclose(half.numpy(), layer(inputs).numpy(), atol=0.05)


def test_config_saved_model_jit_and_old_configs(tmp_path):
    x, valid = batch_with_different_holes(4)
    inputs = (tf.constant(x), tf.constant(valid))
    layer = ContextualAttention()
    assert layer.get_config()["mode"] == "deepfill"
    check_config_round_trip(layer, inputs)
    check_jit(layer, inputs)
    check_jit(ContextualAttention(return_flow=True), ((inputs[0], inputs[0][..., :1]), inputs[1]))
    check_saved_model_round_trip(layer, inputs, tmp_path)
    # A layer config or a run's config.json written before `mode` existed loads as 'exact'.
    old = {k: v for k, v in layer.get_config().items() if k != "mode"}
    assert ContextualAttention.from_config(old).mode == "exact"
    flat = {k: v for k, v in GAINConfig().flat().items() if k != "attention_mode"}
    assert GAINConfig.from_json(json.dumps(flat)).model.attention_mode == "exact"
    assert GAINConfig.from_json(GAINConfig().to_json()).model.attention_mode == "deepfill"
    with pytest.raises(ValueError, match="stride=1"):
        ContextualAttention(stride=2)
    with pytest.raises(ValueError, match="mode"):
        ContextualAttention(mode="fast")
