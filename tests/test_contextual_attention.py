"""Contextual attention, mode='exact': copy behaviour, a loop reference, masks, streams, flow,
serialisation. The default mode (DeepFill's op) is tested in test_contextual_attention_deepfill.py."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf.layers.contextual_attention import ContextualAttention
from gain_tf.layers.flow_image import flow_to_color
from tests.layer_checks import check_config_round_trip, check_jit, check_saved_model_round_trip


# ----------------------------------------------------------------------------- numpy reference
def reference(x, valid, ksize=3, stride=1, rate=2, fuse_k=3, softmax_scale=10.0, fuse=True):
    """Plain loop implementation of the module docstring's algorithm, one sample at a time."""
    x = np.asarray(x, np.float64)
    bsz, height, width, chans = x.shape
    r, k, s = rate, ksize, stride
    h, w = height // r, width // r
    lo, hi = (k - 1) // 2, k // 2
    grid_y, grid_x = list(range(0, h, s)), list(range(0, w, s))
    out = x.copy()
    for b in range(bsz):
        f = x[b, ::r, ::r]
        known = (valid[b, :, :, 0] > 0.5).reshape(h, r, w, r).all(axis=(1, 3))
        fpad = np.zeros((h + k, w + k, chans))
        fpad[lo:lo + h, lo:lo + w] = f

        def patch(y, xx):
            return fpad[y:y + k, xx:xx + k].ravel()

        def is_candidate(y, xx):
            if y - lo < 0 or xx - lo < 0 or y + hi >= h or xx + hi >= w:
                return False
            return known[y - lo:y + hi + 1, xx - lo:xx + hi + 1].all()

        cand = np.array([[is_candidate(y, xx) for xx in grid_x] for y in grid_y])
        if not cand.any():
            continue
        nh, nw = cand.shape
        score = np.zeros((h, w, nh, nw))
        for iy, qy in enumerate(grid_y):
            for ix, qx in enumerate(grid_x):
                wq = patch(qy, qx)
                wq = wq / max(np.linalg.norm(wq), 1e-4)
                for py in range(h):
                    for px in range(w):
                        score[py, px, iy, ix] = patch(py, px) @ wq
        if fuse:
            flo, fhi = (fuse_k - 1) // 2, fuse_k // 2
            for axis in ("x", "y"):
                fused = np.zeros_like(score)
                for py in range(h):
                    for px in range(w):
                        for iy in range(nh):
                            for ix in range(nw):
                                acc = 0.0
                                for t in range(-flo, fhi + 1):
                                    if axis == "x":
                                        a, c = (py, px + t * s), (iy, ix + t)
                                    else:
                                        a, c = (py + t * s, px), (iy + t, ix)
                                    if 0 <= a[0] < h and 0 <= a[1] < w and 0 <= c[0] < nh \
                                            and 0 <= c[1] < nw:
                                        acc += score[a[0], a[1], c[0], c[1]]
                                fused[py, px, iy, ix] = acc
                score = fused
        logits = np.where(cand[None, None], softmax_scale * score, -np.inf)
        logits -= logits.max(axis=(2, 3), keepdims=True)
        att = np.exp(logits)
        att /= att.sum(axis=(2, 3), keepdims=True)
        # paste 2r×2r full-res patches, patch of low-res position q starts at row q*r - r//2
        off = r // 2
        acc = np.zeros((height + 2 * r, width + 2 * r, chans))
        cnt = np.zeros((height + 2 * r, width + 2 * r, 1))
        xpad = np.zeros((height + 2 * r, width + 2 * r, chans))
        xpad[r:r + height, r:r + width] = x[b]
        raw = np.array([[xpad[r + qy * r - off:r + qy * r - off + 2 * r,
                              r + qx * r - off:r + qx * r - off + 2 * r]
                         for qx in grid_x] for qy in grid_y])        # [nh,nw,2r,2r,C]
        for py in range(h):
            for px in range(w):
                pasted = np.tensordot(att[py, px], raw, axes=([0, 1], [0, 1]))
                y0, x0 = r + py * r - off, r + px * r - off
                acc[y0:y0 + 2 * r, x0:x0 + 2 * r] += pasted
                cnt[y0:y0 + 2 * r, x0:x0 + 2 * r] += 1
        attended = acc[r:r + height, r:r + width] / cnt[r:r + height, r:r + width]
        out[b] = x[b] * valid[b] + attended * (1 - valid[b])
    return out


def random_case(seed, shape=(2, 16, 16, 4)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(np.float32)
    valid = np.ones(shape[:3] + (1,), np.float32)
    valid[0, 4:10, 6:12] = 0.0
    valid[1, 2:6, 2:14] = 0.0
    valid[1, 10:14, 8:12] = 0.0
    return x, valid


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(rate=1, fuse=False),
    dict(rate=1, fuse_k=2),
    dict(stride=2),
    dict(rate=2, stride=2, fuse=False, ksize=5),
    dict(rate=4, ksize=1, fuse_k=3),
])
def test_matches_loop_reference(kwargs):
    x, valid = random_case(1)
    layer = ContextualAttention(mode="exact", **kwargs)
    out = layer((tf.constant(x), tf.constant(valid))).numpy()
    ref = reference(x, valid, **{k: v for k, v in kwargs.items()})
    np.testing.assert_allclose(out, ref, atol=2e-4, rtol=0)


# ----------------------------------------------------------------------------- copy behaviour
def copy_case():
    """32×32, rate 2: one-hot codes at the low-res (even, even) pixels, random values elsewhere.

    The low-res hole (rows 4..6, cols 3..5) holds the codes of the positions shifted by
    d = (1, 6), so every foreground patch touching the hole matches exactly one candidate,
    the one shifted by d, and the full-res output at hole pixel y must be x[y + 2d]. The hole's
    off-grid full-res pixels hold unrelated random values, so returning the input would fail.
    """
    rng = np.random.default_rng(7)
    size, low, d = 32, 16, (1, 6)
    x = rng.normal(size=(1, size, size, low * low)).astype(np.float32)
    codes = np.eye(low * low, dtype=np.float32).reshape(low, low, low * low)
    x[0, ::2, ::2] = codes
    valid = np.ones((1, size, size, 1), np.float32)
    valid[0, 8:14, 6:12] = 0.0
    for i in range(4, 7):
        for j in range(3, 6):
            x[0, 2 * i, 2 * j] = codes[i + d[0], j + d[1]]
    return x, valid, (2 * d[0], 2 * d[1])


@pytest.mark.parametrize("fuse", [True, False])
def test_hole_copies_the_matching_known_patch(fuse):
    x, valid, shift = copy_case()
    out = ContextualAttention(mode="exact", rate=2, ksize=3, softmax_scale=100.0, fuse=fuse)(
        (tf.constant(x), tf.constant(valid))).numpy()
    expected = x[0, 8 + shift[0]:14 + shift[0], 6 + shift[1]:12 + shift[1]]
    assert np.abs(x[0, 8:14, 6:12] - expected).max() > 1.0   # the input itself is not the answer
    np.testing.assert_allclose(out[0, 8:14, 6:12], expected, atol=1e-3, rtol=0)
    known = valid[..., 0] > 0.5
    np.testing.assert_array_equal(out[known], x[known])


def test_rate_one_copy_with_a_second_stream():
    """rate 1: scores from one-hot codes, pasting a second, unrelated stream with the same weights."""
    rng = np.random.default_rng(3)
    n = 16
    codes = np.eye(n * n, dtype=np.float32).reshape(1, n, n, n * n)
    valid = np.ones((1, n, n, 1), np.float32)
    valid[0, 4:7, 3:6] = 0.0
    d = (1, 6)
    first = codes.copy()
    first[0, 4:7, 3:6] = codes[0, 4 + d[0]:7 + d[0], 3 + d[1]:6 + d[1]]
    second = rng.normal(size=(1, n, n, 5)).astype(np.float32)
    layer = ContextualAttention(mode="exact", rate=1, softmax_scale=100.0)
    out_first, out_second = layer(((tf.constant(first), tf.constant(second)), tf.constant(valid)))
    np.testing.assert_allclose(out_second.numpy()[0, 4:7, 3:6],
                               second[0, 4 + d[0]:7 + d[0], 3 + d[1]:6 + d[1]], atol=1e-3)
    np.testing.assert_allclose(out_first.numpy(), first, atol=1e-3)


# ----------------------------------------------------------------------------- masks
def test_empty_or_tiny_known_region_returns_the_input():
    rng = np.random.default_rng(0)
    x = (1e3 * rng.normal(size=(3, 16, 16, 4))).astype(np.float32)
    valid = np.zeros((3, 16, 16, 1), np.float32)
    valid[1, 7, 7] = 1.0                      # a single known pixel: no candidate patch
    valid[2, 2:8, 2:8] = 1.0                  # exactly one candidate at rate 2 (low-res 3×3)
    for layer in (ContextualAttention(mode="exact"),
                  ContextualAttention(mode="exact", rate=1, softmax_scale=1e4)):
        out = layer((tf.constant(x), tf.constant(valid))).numpy()
        assert np.isfinite(out).all()
        np.testing.assert_array_equal(out[:2], x[:2])
    out = ContextualAttention(mode="exact")((tf.constant(x), tf.constant(valid))).numpy()
    np.testing.assert_allclose(out[2], reference(x[2:], valid[2:])[0], rtol=1e-5, atol=1e-2)
    flow = ContextualAttention(mode="exact").flow_image((tf.constant(x), tf.constant(valid))).numpy()
    assert (flow[:2] == 255).all()


def test_per_sample_masks_match_single_runs():
    x, valid = random_case(2)
    layer = ContextualAttention(mode="exact")
    both = layer((tf.constant(x), tf.constant(valid))).numpy()
    for b in range(2):
        alone = layer((tf.constant(x[b:b + 1]), tf.constant(valid[b:b + 1]))).numpy()
        np.testing.assert_allclose(both[b:b + 1], alone, atol=1e-5, rtol=0)


def test_gradients_reach_features_not_masks():
    x, valid = random_case(3)
    x, valid = tf.constant(x), tf.constant(valid)
    weights = tf.constant(np.random.default_rng(0).normal(size=x.shape).astype(np.float32))
    layer = ContextualAttention(mode="exact")
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, valid])
        loss = tf.reduce_sum(layer((x, valid)) * weights)
    gx = tape.gradient(loss, x)
    gv = tape.gradient(loss, valid)
    assert gx is not None and np.isfinite(gx.numpy()).all()
    # features reach the output also through the attention (not only the pasted copies)
    assert np.abs(gx.numpy()).sum() > 0
    assert gv is None or not np.any(gv.numpy())


# ----------------------------------------------------------------------------- streams
def test_two_streams_share_the_attention():
    x, valid = random_case(4)
    x, valid = tf.constant(x), tf.constant(valid)
    layer = ContextualAttention(mode="exact")
    single = layer((x, valid))
    out = layer(((x, x), valid))
    assert isinstance(out, tuple) and len(out) == 2
    np.testing.assert_allclose(out[0].numpy(), single.numpy(), atol=1e-5)
    np.testing.assert_allclose(out[1].numpy(), single.numpy(), atol=1e-5)
    # pasting is linear with weights summing to one: an affine map of the stream commutes
    second = tf.concat([2.0 * x + 1.0, -x], axis=-1)
    first_out, second_out = layer(((x, second), valid))
    expected = tf.concat([2.0 * first_out + 1.0, -first_out], axis=-1)
    np.testing.assert_allclose(second_out.numpy(), expected.numpy(), atol=1e-4)


# ----------------------------------------------------------------------------- flow image
def test_flow_to_color_wheel():
    flow = np.zeros((1, 1, 4, 2), np.float32)
    flow[0, 0, 1] = (0, 3)        # +x
    flow[0, 0, 2] = (3, 0)        # +y
    flow[0, 0, 3] = (0, -3)       # -x
    img = flow_to_color(tf.constant(flow)).numpy()
    assert img.dtype == np.uint8 and img.shape == (1, 1, 4, 3)
    np.testing.assert_array_equal(img[0, 0, 0], [255, 255, 255])   # zero offset: white
    assert img[0, 0, 1, 0] == 255 and img[0, 0, 1, 1] == 0          # +x: red
    colours = {tuple(c) for c in img[0, 0]}
    assert len(colours) == 4


def test_flow_image_of_the_copy_case():
    x, valid, shift = copy_case()
    inputs = (tf.constant(x), tf.constant(valid))
    layer = ContextualAttention(mode="exact", softmax_scale=100.0, return_flow=True)
    out, flow = layer(inputs)
    assert flow.shape == (1, 32, 32, 3) and flow.dtype == tf.uint8
    np.testing.assert_array_equal(flow.numpy(), layer.flow_image(inputs).numpy())
    offsets = layer.attention_offsets(inputs).numpy()
    np.testing.assert_array_equal(offsets[0, 4:7, 3:6], np.broadcast_to([1, 6], (3, 3, 2)))
    flow = flow.numpy()[0]
    hole_colours = {tuple(c) for c in flow[8:14, 6:12].reshape(-1, 3)}
    assert len(hole_colours) == 1 and hole_colours != {(255, 255, 255)}
    np.testing.assert_array_equal(flow[20:28, 20:28], 255)   # away from hole and border: white
    plain = ContextualAttention(mode="exact", softmax_scale=100.0)(inputs)
    np.testing.assert_allclose(out.numpy(), plain.numpy())


# ----------------------------------------------------------------------------- plumbing
def test_config_saved_model_and_jit(tmp_path):
    x, valid = random_case(5)
    single = (tf.constant(x), tf.constant(valid))
    double = ((tf.constant(x), tf.constant(x[..., :2] * 3.0)), tf.constant(valid))
    layer = ContextualAttention(mode="exact", ksize=3, stride=1, rate=2, fuse_k=3, softmax_scale=10.0)
    config = layer.get_config()
    for key, value in dict(ksize=3, stride=1, rate=2, fuse_k=3, softmax_scale=10.0, fuse=True,
                           mode="exact", return_flow=False).items():
        assert config[key] == value
    check_config_round_trip(layer, single)
    check_config_round_trip(
        ContextualAttention(mode="exact", rate=1, return_flow=True, fuse=False), double)
    check_jit(layer, single)
    check_jit(ContextualAttention(mode="exact", stride=2, return_flow=True), double)
    check_saved_model_round_trip(layer, double, tmp_path)


def test_keras_model_and_errors():
    feats = tf.keras.Input((16, 16, 4))
    valid = tf.keras.Input((16, 16, 1))
    model = tf.keras.Model([feats, valid],
                           ContextualAttention(mode="exact", name="ca")((feats, valid)))
    x, v = random_case(6)
    np.testing.assert_allclose(model([x, v]).numpy(), reference(x, v), atol=2e-4)
    with pytest.raises(ValueError):
        ContextualAttention(mode="exact", rate=3)((tf.constant(x), tf.constant(v)))
    with pytest.raises(ValueError):
        ContextualAttention(mode="exact", ksize=0)


def test_mixed_precision_keeps_the_dtype():
    x, valid = random_case(8)
    layer = ContextualAttention(mode="exact", dtype="mixed_float16")
    out = layer((tf.constant(x), tf.constant(valid)))
    assert out.dtype == tf.float16
    assert np.isfinite(out.numpy()).all()
    np.testing.assert_allclose(out.numpy(), reference(x, valid), atol=0.1)
