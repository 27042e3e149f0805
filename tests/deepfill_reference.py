"""Independent plain-numpy reference for DeepFill v1's ``contextual_attention``.

Written from reading the published TF1 source (JiahuiYu/generative_inpainting,
``inpaint_ops.contextual_attention`` as called from ``inpaint_model`` with
``contextual_attention(x, x, mask_s, 3, 1, rate=2)``, and neuralgym's ``resize``
which uses ``align_corners=True``).  Everything is float64 and done with
explicit loops; clarity is preferred over speed.  numpy only.
"""
import numpy as np


def _same_pad_before(size, k, stride):
    """TF 'SAME' geometry: (output size, padding before) for one spatial axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2


def resize_nearest_align_corners(x, out_h, out_w):
    """Emulate TF1 ``tf.image.resize_nearest_neighbor(x, [out_h, out_w],
    align_corners=True)`` (half_pixel_centers=False) for one array x [H, W, C].

    Per axis TF computes, in float32, scale = (in - 1) / (out - 1) (in / out if
    out == 1); output index y reads source index
    min(roundf(float32(y) * scale), in - 1), roundf rounding half away from
    zero.  E.g. 64 -> 32 picks rows 0, 2, ..., 30, 33, 35, ..., 63.
    """
    x = np.asarray(x)

    def src_indices(n_in, n_out):
        if n_out > 1:
            scale = np.float32(n_in - 1) / np.float32(n_out - 1)
        else:
            scale = np.float32(n_in) / np.float32(n_out)
        idx = []
        for o in range(n_out):
            v = np.float32(o) * np.float32(scale)  # float32 product, as in TF
            # v >= 0 and float64(v) + 0.5 is exact, so this is C roundf(v).
            r = int(np.floor(np.float64(v) + 0.5))
            idx.append(min(r, n_in - 1))
        return idx

    rows = src_indices(x.shape[0], out_h)
    cols = src_indices(x.shape[1], out_w)
    out = np.zeros((out_h, out_w) + x.shape[2:], dtype=x.dtype)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            out[i, j] = x[r, c]
    return out


def _extract_patches_same(x, k, stride):
    """``tf.extract_image_patches`` (rates 1, padding SAME, zero padding) of
    x [H, W, C].  Returns patches [oh, ow, k, k, C]; patch (i, j) has top-left
    corner at (i*stride - pad_top, j*stride - pad_left)."""
    H, W, C = x.shape
    oh, pt = _same_pad_before(H, k, stride)
    ow, pl = _same_pad_before(W, k, stride)
    p = np.zeros((oh, ow, k, k, C), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            for a in range(k):
                for b in range(k):
                    r, c = i * stride - pt + a, j * stride - pl + b
                    if 0 <= r < H and 0 <= c < W:
                        p[i, j, a, b] = x[r, c]
    return p


def _fuse_2d(m, k):
    """conv2d SAME of the 2-D matrix m with a k x k identity kernel:
    out[p, q] = sum_a m[p + a - pad, q + a - pad], zeros outside the matrix."""
    P, Q = m.shape
    pad = (k - 1) // 2
    out = np.zeros_like(m)
    for p in range(P):
        for q in range(Q):
            s = 0.0
            for a in range(k):
                pp, qq = p + a - pad, q + a - pad
                if 0 <= pp < P and 0 <= qq < Q:
                    s += m[pp, qq]
            out[p, q] = s
    return out


def deepfill_contextual_attention(x, hole, ksize=3, stride=1, rate=2, fuse_k=3,
                                  softmax_scale=10.0, fuse=True):
    """DeepFill v1 contextual attention for ONE sample, foreground = background = x.

    x: [H, W, C] features; hole: [H, W] mask at x's resolution (1 = hole,
    0 = known), i.e. ``mask_s`` of inpaint_model.  H, W divisible by rate;
    only stride == 1 is supported.  Returns y [H, W, C]: the raw pasted result
    conv2d_transpose(attention, raw patches) / 4, NOT composited with x.

    Steps (TF1 semantics):
      1. f = b = x and the mask downscaled to (H/rate, W/rate) with nearest
         align_corners resize.
      2. ksize x ksize background patches w of b (SAME, zero padded); a
         background position is a candidate iff the mean of its zero-padded
         mask patch is exactly 0 (the image border therefore counts as known).
      3. scores[i, j, n] = correlation (SAME, zero pad) of f with
         w_n / max(||w_n||, 1e-4).
      4. fuse (optional): view scores as [h*w, h*w] (row-major foreground rows,
         background cols), sum along diagonals with a fuse_k identity kernel
         (SAME), repeat in column-major flattening of both, restore.
      5. scores *= cand; attn = softmax over ALL h*w positions of
         softmax_scale * scores; attn *= cand (no candidate -> zeros).
      6. y = conv2d_transpose(attn, raw 2*rate x 2*rate patches of x taken with
         stride rate, SAME) to size H x W, stride rate, SAME; return y / 4.
    """
    if stride != 1:
        raise NotImplementedError("only stride=1 is supported")
    x = np.asarray(x, dtype=np.float64)
    hole = np.asarray(hole, dtype=np.float64)
    H, W, C = x.shape
    if H % rate or W % rate:
        raise ValueError("H and W must be divisible by rate")
    h, w = H // rate, W // rate
    P = h * w
    K = 2 * rate

    # raw (full resolution) patches used for pasting: [h, w, K, K, C]
    raw = _extract_patches_same(x, K, rate)
    assert raw.shape[:2] == (h, w)

    # 1. downscale features and mask
    f = resize_nearest_align_corners(x, h, w)
    m = resize_nearest_align_corners(hole[:, :, None], h, w)

    # 2. matching patches and candidate indicator (flattened row-major)
    wp = _extract_patches_same(f, ksize, 1).reshape(P, ksize, ksize, C)
    mp = _extract_patches_same(m, ksize, 1).reshape(P, ksize * ksize)
    cand = np.array([1.0 if np.mean(mp[n]) == 0.0 else 0.0 for n in range(P)])

    # 3. normalised correlation scores[i, j, n]
    wn = np.zeros_like(wp)
    for n in range(P):
        wn[n] = wp[n] / max(np.sqrt(np.sum(wp[n] ** 2)), 1e-4)
    fpad = _extract_patches_same(f, ksize, 1)  # neighbourhood of each (i, j)
    scores = np.zeros((h, w, P))
    for i in range(h):
        for j in range(w):
            for n in range(P):
                scores[i, j, n] = np.sum(fpad[i, j] * wn[n])

    # 4. fuse along diagonals, row-major then column-major flattening
    if fuse:
        s = _fuse_2d(scores.reshape(P, P), fuse_k)
        s4 = s.reshape(h, w, h, w).transpose(1, 0, 3, 2)  # [w, h, w, h]
        s = _fuse_2d(s4.reshape(P, P), fuse_k)
        scores = s.reshape(w, h, w, h).transpose(1, 0, 3, 2).reshape(h, w, P)

    # 5. masked softmax over all background positions
    attn = np.zeros((h, w, P))
    for i in range(h):
        for j in range(w):
            z = softmax_scale * scores[i, j] * cand
            e = np.exp(z - np.max(z))
            attn[i, j] = e / np.sum(e) * cand

    # 6. paste: adjoint of conv2d(SAME, stride rate) with the raw patches
    _, pt = _same_pad_before(H, K, rate)
    _, pl = _same_pad_before(W, K, rate)
    rawf = raw.reshape(P, K, K, C)
    y = np.zeros((H, W, C))
    for i in range(h):
        for j in range(w):
            for n in range(P):
                a_ijn = attn[i, j, n]
                if a_ijn == 0.0:
                    continue
                for a in range(K):
                    for b in range(K):
                        r, c = i * rate - pt + a, j * rate - pl + b
                        if 0 <= r < H and 0 <= c < W:
                            y[r, c] += a_ijn * rawf[n, a, b]
    return y / 4.0


if __name__ == "__main__":
    rows = [int(np.asarray(v)) for v in resize_nearest_align_corners(
        np.arange(64.0).reshape(64, 1, 1), 32, 1)[:, 0, 0]]
    assert rows[:16] == list(range(0, 32, 2)) and rows[16:] == list(range(33, 64, 2))
    rng = np.random.RandomState(0)
    xs = rng.rand(8, 8, 2)
    hm = np.zeros((8, 8))
    hm[2:6, 2:6] = 1.0
    out = deepfill_contextual_attention(xs, hm)
    assert out.shape == xs.shape and np.all(np.isfinite(out))
    assert not deepfill_contextual_attention(xs, np.ones((8, 8))).any()
    print("self-check ok")
