"""Numpy references of the layers' mask and convolution arithmetic, and the masks they are checked on."""
import itertools

import numpy as np


def reference_partial_conv(x, valid, kernel, bias, stride, dilation):
    """Numpy loop: X' = W·(X⊙M)·(k_h k_w / sum M) + b where sum M > 0 else 0; 'same' placement."""
    b, h, w, _ = x.shape
    kh, kw, _, cout = kernel.shape
    eh, ew = (kh - 1) * dilation + 1, (kw - 1) * dilation + 1
    oh, ow = -(-h // stride), -(-w // stride)
    top = max((oh - 1) * stride + eh - h, 0) // 2
    left = max((ow - 1) * stride + ew - w, 0) // 2
    y = np.zeros((b, oh, ow, cout))
    m = np.zeros((b, oh, ow, 1))
    for n, i, j in itertools.product(range(b), range(oh), range(ow)):
        acc, msum = np.zeros(cout), 0.0
        for u, v in itertools.product(range(kh), range(kw)):
            r, c = i * stride - top + u * dilation, j * stride - left + v * dilation
            if 0 <= r < h and 0 <= c < w and valid[n, r, c, 0] > 0:
                acc += x[n, r, c] @ kernel[u, v]
                msum += 1
        if msum > 0:
            y[n, i, j] = acc * (kh * kw / msum) + bias
            m[n, i, j] = 1
    return y, m


def numpy_erode(valid):
    b, h, w, _ = valid.shape
    p = np.zeros((b, h + 2, w + 2, 1), valid.dtype)
    p[:, 1:-1, 1:-1] = valid
    out = np.ones_like(valid)
    for di in range(3):
        for dj in range(3):
            out = np.minimum(out, p[:, di:di + h, dj:dj + w])
    return out


def blob_valid(rng, b=3, h=16, w=16):
    """Random smooth holes (discs) plus an all-valid and an all-hole sample."""
    yy, xx = np.mgrid[0:h, 0:w]
    valid = np.ones((b, h, w, 1), np.float32)
    for n in range(b):
        for _ in range(3):
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(2, 5)
            valid[n, (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, 0] = 0.0
    valid[1] = 1.0
    if b > 2:
        valid[2] = 0.0
    return valid
