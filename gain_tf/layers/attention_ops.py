"""Tensor helpers of :class:`gain_tf.layers.contextual_attention.ContextualAttention`: static or
dynamic sizes, DeepFill's aligned nearest resize, zero-padded patches and diagonal window sums
(the ksize×ksize patch scores from one pixel Gram matrix), and the paste of attended patches."""
from __future__ import annotations

import tensorflow as tf


def dim(x, axis):
    """Static size of ``axis`` if known, else the dynamic one."""
    static = x.shape[axis]
    return static if static is not None else tf.shape(x)[axis]


def resize_nearest_aligned(x, height, width):
    """TF1's ``resize_nearest_neighbor(x, [height, width], align_corners=True)`` (as DeepFill's
    ``resize_mask_like`` and neuralgym's ``resize`` call it), as two gathers (XLA-friendly).

    The source index of output row ``y`` is ``min(roundf(y · s), H_in − 1)`` with
    ``s = (H_in − 1) / (height − 1)`` in float32 (``H_in / height`` when ``height`` is 1), and
    ``roundf`` rounding halves away from zero. ``[B, H_in, W_in, C]`` -> ``[B, height, width, C]``.
    """
    def index(n_in, n_out):
        n_in = tf.cast(n_in, tf.int32)
        n_out = tf.cast(n_out, tf.int32)
        fin, fout = tf.cast(n_in, tf.float32), tf.cast(n_out, tf.float32)
        scale = tf.where(n_out > 1, (fin - 1.0) / tf.maximum(fout - 1.0, 1.0), fin / fout)
        pos = tf.cast(tf.range(n_out), tf.float32) * scale
        whole = tf.floor(pos)
        rounded = tf.cast(whole, tf.int32) + tf.cast(pos - whole >= 0.5, tf.int32)
        return tf.minimum(rounded, n_in - 1)

    x = tf.gather(x, index(dim(x, 1), height), axis=1)
    return tf.gather(x, index(dim(x, 2), width), axis=2)


def patches(x, ksize, pad_value=0.0):
    """``[B,h,w,C]`` -> ``[B,h,w,ksize*ksize*C]``: the SAME-padded ksize×ksize window at each pixel.

    Window offsets run from ``-(ksize-1)//2`` to ``ksize//2`` (TF's SAME convention), ordered
    row-major, channels innermost.
    """
    if ksize == 1:
        return x
    lo, hi = (ksize - 1) // 2, ksize // 2
    h, w = dim(x, 1), dim(x, 2)
    xp = tf.pad(x, [[0, 0], [lo, hi], [lo, hi], [0, 0]], constant_values=pad_value)
    return tf.concat([xp[:, i:i + h, j:j + w, :] for i in range(ksize) for j in range(ksize)],
                     axis=-1)


def diagonal_sum(scores, axis_p, axis_q, k, step=1):
    """``out[.., p, .., q, ..] = sum_t scores[.., p + t·step, .., q + t, ..]``, zero outside, t from
    ``-(k-1)//2`` to ``k//2`` (the SAME window): an identity-kernel convolution along one pair of
    axes. Done with pad + ``tf.slice`` (fast eagerly, in graphs and fused by XLA; convolutions
    are slow on XLA:CPU and strided-slice gradients are slow in graphs)."""
    lo, hi = (k - 1) // 2, k // 2
    rank = scores.shape.rank
    shape = [dim(scores, a) for a in range(rank)]
    pads = [[0, 0]] * rank
    pads[axis_p] = [lo * step, hi * step]
    pads[axis_q] = [lo, hi]
    padded = tf.pad(scores, pads)
    total = None
    for j in range(k):
        begin = [0] * rank
        begin[axis_p], begin[axis_q] = j * step, j
        term = tf.slice(padded, begin, shape)
        total = term if total is None else total + term
    return total


def paste_patches(x, attention, rate, stride=1):
    """``Σ_q att[p, q] · patch_q`` pasted at every p: the attention's full-resolution output, summed.

    Args:
      x: ``[B, H, W, C]``, H and W multiples of ``rate``; its 2r×2r patches (stride r, TF SAME
        padding of r//2 before) are what is pasted.
      attention: ``[B, h, w, nh, nw]`` weights, h = H/r, w = W/r, candidates on a grid of step
        ``stride`` (nh = ⌈h/stride⌉).
    Returns ``[B, H, W, C]``: a transposed convolution of the attended patches, not yet divided by
    the number of patches covering each pixel (:func:`overlap_count`).

    Computed on r×r blocks: with the input padded by off = r//2 before and cut into (h+1)×(w+1)
    blocks, patch q is blocks q + (a, b), a, b ∈ {0, 1}, pasted onto blocks p + (a, b), so block j
    of the result is ``Σ_m W[j, m] · block m`` with ``W[j, m] = Σ_{a,b} att[j − (a,b), m − (a,b)]``:
    one matmul over blocks instead of one over 2r×2r patches (4× fewer multiplications).
    """
    r, s = rate, stride
    batch = tf.shape(x)[0]
    height, width = dim(x, 1), dim(x, 2)
    h, w = dim(attention, 1), dim(attention, 2)
    nh, nw = dim(attention, 3), dim(attention, 4)
    off = r // 2
    canvas = tf.pad(x, [[0, 0], [off, r - off], [off, r - off], [0, 0]])
    blocks = tf.nn.space_to_depth(canvas, r) if r > 1 else canvas   # [B,h+1,w+1,rrC]
    att = attention
    if s > 1:                       # candidate grid index i -> low-res position i·s
        att = tf.pad(att[:, :, :, :, None, :, None],
                     [[0, 0], [0, 0], [0, 0], [0, 0], [0, s - 1], [0, 0], [0, s - 1]])
        att = tf.reshape(att, [batch, h, w, nh * s, nw * s])[:, :, :, :h, :w]
    weights = None
    for a in (0, 1):
        for b in (0, 1):
            term = tf.pad(att, [[0, 0], [a, 1 - a], [b, 1 - b], [a, 1 - a], [b, 1 - b]])
            weights = term if weights is None else weights + term   # [B,h+1,w+1,h+1,w+1]
    n_b = (h + 1) * (w + 1)
    rrc = dim(blocks, 3)
    folded = tf.matmul(tf.reshape(weights, [batch, n_b, n_b]), tf.reshape(blocks, [batch, n_b, rrc]))
    folded = tf.reshape(folded, [batch, h + 1, w + 1, rrc])
    folded = tf.nn.depth_to_space(folded, r) if r > 1 else folded
    return folded[:, off:off + height, off:off + width, :]


def overlap_count(height, width, rate):
    """Number of pasted 2r×2r patches covering each full-resolution pixel, ``[1, H, W, 1]`` float32
    (1 in the outer half-patch border, 2 per axis inside)."""
    r, off = rate, rate // 2

    def axis_count(n_pixels):
        block = tf.range(off, off + n_pixels) // r                 # canvas block of a pixel
        edge = tf.logical_or(tf.equal(block, 0), tf.equal(block, n_pixels // r))
        return tf.where(edge, 1.0, 2.0)

    return axis_count(height)[None, :, None, None] * axis_count(width)[None, None, :, None]
