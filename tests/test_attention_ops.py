"""gain_tf.layers.attention_ops.paste_patches / overlap_count against a numpy loop that pastes
each 2r×2r patch in turn (the transposed convolution DeepFill writes)."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf.layers.attention_ops import overlap_count, paste_patches


def _paste_loop(x, att, r, s):
    """x [H,W,C], att [h,w,nh,nw] (candidate i at low-res position i·s): the pasted sum."""
    height, width, _ = x.shape
    off = r // 2
    canvas = np.pad(x, [(off, r - off), (off, r - off), (0, 0)])
    out = np.zeros_like(canvas)
    h, w, nh, nw = att.shape
    for py in range(h):
        for px in range(w):
            for i in range(nh):
                for j in range(nw):
                    qy, qx = i * s, j * s
                    patch = canvas[qy * r:qy * r + 2 * r, qx * r:qx * r + 2 * r]
                    out[py * r:py * r + 2 * r, px * r:px * r + 2 * r] += att[py, px, i, j] * patch
    return out[off:off + height, off:off + width]


@pytest.mark.parametrize("r,s", [(1, 1), (2, 1), (2, 2), (3, 1)])
def test_paste_patches_equals_pasting_each_patch(r, s):
    rng = np.random.default_rng(r * 10 + s)
    height, width = 4 * r, 5 * r
    h, w = height // r, width // r
    nh, nw = -(-h // s), -(-w // s)
    x = rng.normal(size=(2, height, width, 3)).astype(np.float32)
    att = rng.random((2, h, w, nh, nw)).astype(np.float32)
    got = paste_patches(tf.constant(x), tf.constant(att), r, s).numpy()
    for b in range(2):
        np.testing.assert_allclose(got[b], _paste_loop(x[b], att[b], r, s), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("r", [1, 2, 4])
def test_overlap_count_counts_the_patches_covering_each_pixel(r):
    height, width = 3 * r, 5 * r
    h, w = height // r, width // r
    ones = np.ones((height, width, 1), np.float32)
    identity = np.eye(h * w, dtype=np.float32).reshape(h, w, h, w)   # every patch pasted once
    want = _paste_loop(ones, identity, r, 1)[..., 0]
    np.testing.assert_array_equal(overlap_count(height, width, r).numpy()[0, ..., 0], want)
