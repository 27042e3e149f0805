"""Contextual attention (Yu et al. 2018, "Generative Image Inpainting with Contextual Attention").

GAIN reuses DeepFill v1's contextual attention at the end of branch 2 and defers to Yu et al. for
its details (README, "Deviations and choices"). Two modes share one batched implementation; for
features ``x``, the library valid mask ``M`` (1 = known, 0 = hole) and ``r`` = ``rate``::

    f  = down(x)                                 # low-res matching features, [B, H/r, W/r, C]
    w_q = ksize×ksize patch of f around q, for q on a grid of step ``stride``   (zero padded)
    s(p, q) = <patch_f(p), w_q> / max(|w_q|, 1e-4)   for every low-res position p
    fuse:  s <- sum_t s(p + t, q + t) along x, then the same along y (t in the fuse_k window)
    a(p, q) = weights from softmax_scale · s(p, q) over the candidates q
    attended = sum_p sum_q a(p, q) · raw_q placed at p  /  norm          # transposed convolution
    out = x · M + attended · (1 − M)

``raw_q`` is the full-resolution ``2r × 2r`` patch of ``x`` at ``q`` (DeepFill's kernel, 4×4 for
rate 2), placed with stride ``r``: it covers full-res rows ``q·r − r//2 … q·r − r//2 + 2r − 1``
(TF's SAME geometry for a 2r kernel with stride r), so an interior pixel is covered by 4 patches.

``mode='deepfill'`` (the default) is DeepFill v1's published op (``inpaint_ops.py``,
``contextual_attention``), applied to every sample with that sample's own mask:

  * ``down`` is TF1's nearest resize with ``align_corners=True`` (neuralgym's ``resize``), for the
    features and the mask alike: 64 → 32 picks rows 0, 2, …, 30, 33, 35, …, 63;
  * a candidate is excluded if its low-res ksize×ksize window holds any hole; the image border
    counts as known (DeepFill zero-pads a hole mask);
  * fuse runs on the flattened ``[H/r·W/r, H/r·W/r]`` score matrix with zero padding, so it wraps
    from the end of one image row to the start of the next, as DeepFill's 2-D convolution does;
  * excluded scores are set to 0 (not −∞), the softmax runs over every position, and the weights
    are multiplied by the candidate mask again, so they need not sum to 1;
  * pasted patches are divided by 4; a sample with no candidate gets zeros in its holes.

  DeepFill's op reads sample 0's mask for the whole batch and supports only ``stride=1`` with
  fuse; here every sample uses its own mask, and ``stride`` must be 1.

``mode='exact'`` is this project's first reading, kept for runs made before the default changed
(a ``config.json`` without ``attention_mode`` loads as ``exact``):

  * ``down`` is ``x[:, ::r, ::r]``; a low-res pixel is known only if its whole r×r block is;
  * positions outside the image count as holes for the candidate test, so only known pixels are
    ever pasted;
  * fuse runs on the 4-D score tensor ``[p_y, p_x, q_y, q_x]`` (no wrap-around); with
    ``stride > 1`` it pairs candidate grid index ``i + t`` with foreground position ``p + t·stride``;
  * a masked softmax: non-candidates get weight exactly 0 and the weights sum to 1;
  * the normaliser is the exact number of patches covering each pixel (4 inside, 2 or 1 on the
    outermost pixels); a sample with no candidate gets its input back unchanged.

Implementation (same numbers, cheaper): scores are one pixel Gram matrix ``f fᵀ`` followed by a
ksize×ksize diagonal window sum (instead of ksize²·C-long patch vectors), and pasting folds the
four sub-blocks of every patch into a block-to-block weight matrix, so it is one matmul over
``r×r`` blocks. Everything is static-shape (XLA-compatible); spatial sizes may also be dynamic in
plain graphs. Scores and softmax run in float32, everything else in the input dtype.

Several streams can share one attention: ``layer(((img_feat, grad_feat), valid))`` computes the
scores on the first (image) stream and pastes every stream with the same weights.

:func:`flow_to_color` turns the per-position argmax offsets into a Middlebury colour-coded flow
image (zero offset = white, hue = direction, saturation = length relative to the sample's longest).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

MODES = ("deepfill", "exact")


def _dim(x, axis):
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

    x = tf.gather(x, index(_dim(x, 1), height), axis=1)
    return tf.gather(x, index(_dim(x, 2), width), axis=2)


def _patches(x, ksize, pad_value=0.0):
    """``[B,h,w,C]`` -> ``[B,h,w,ksize*ksize*C]``: the SAME-padded ksize×ksize window at each pixel.

    Window offsets run from ``-(ksize-1)//2`` to ``ksize//2`` (TF's SAME convention), ordered
    row-major, channels innermost.
    """
    if ksize == 1:
        return x
    lo, hi = (ksize - 1) // 2, ksize // 2
    h, w = _dim(x, 1), _dim(x, 2)
    xp = tf.pad(x, [[0, 0], [lo, hi], [lo, hi], [0, 0]], constant_values=pad_value)
    return tf.concat([xp[:, i:i + h, j:j + w, :] for i in range(ksize) for j in range(ksize)],
                     axis=-1)


def _diagonal_sum(scores, axis_p, axis_q, k, step=1):
    """``out[.., p, .., q, ..] = sum_t scores[.., p + t·step, .., q + t, ..]``, zero outside, t from
    ``-(k-1)//2`` to ``k//2`` (the SAME window): an identity-kernel convolution along one pair of
    axes. Done with pad + ``tf.slice`` (fast eagerly, in graphs and fused by XLA; convolutions
    are slow on XLA:CPU and strided-slice gradients are slow in graphs)."""
    lo, hi = (k - 1) // 2, k // 2
    rank = scores.shape.rank
    shape = [_dim(scores, a) for a in range(rank)]
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


def _middlebury_wheel():
    """The Middlebury colour wheel (55 RGB colours in [0, 255])."""
    ry, yg, gc, cb, bm, mr = 15, 6, 4, 11, 13, 6
    cols = []
    cols += [(255, np.floor(255 * i / ry), 0) for i in range(ry)]
    cols += [(255 - np.floor(255 * i / yg), 255, 0) for i in range(yg)]
    cols += [(0, 255, np.floor(255 * i / gc)) for i in range(gc)]
    cols += [(0, 255 - np.floor(255 * i / cb), 255) for i in range(cb)]
    cols += [(np.floor(255 * i / bm), 0, 255) for i in range(bm)]
    cols += [(255, 0, 255 - np.floor(255 * i / mr)) for i in range(mr)]
    return np.asarray(cols, np.float32)


def flow_to_color(flow, max_radius=None):
    """Middlebury colour coding of a flow / offset field.

    Args:
      flow: ``[B, H, W, 2]`` offsets ``(dy, dx)`` (rows, columns), any real or integer dtype.
      max_radius: length mapped to full saturation; default: each sample's longest offset.

    Returns:
      ``uint8 [B, H, W, 3]`` RGB. Zero offset is white; the hue gives the direction (the usual
      Middlebury wheel: +x red, +y blue-ish, ...), saturation the length.
    """
    flow = tf.cast(flow, tf.float32)
    v, u = flow[..., 0], flow[..., 1]
    rad = tf.sqrt(u * u + v * v)
    if max_radius is None:
        max_radius = tf.reduce_max(rad, axis=[1, 2], keepdims=True)
    max_radius = tf.maximum(tf.cast(max_radius, tf.float32), 1e-6)
    rad = rad / max_radius
    u, v = u / max_radius, v / max_radius
    wheel = tf.constant(_middlebury_wheel() / 255.0)
    ncols = int(wheel.shape[0])
    angle = tf.atan2(-v, -u) / np.pi                       # [-1, 1]
    fk = (angle + 1.0) / 2.0 * (ncols - 1)                 # [0, ncols-1]
    k0 = tf.clip_by_value(tf.cast(tf.floor(fk), tf.int32), 0, ncols - 1)
    k1 = tf.math.floormod(k0 + 1, ncols)
    frac = (fk - tf.cast(k0, tf.float32))[..., None]
    col = (1.0 - frac) * tf.gather(wheel, k0) + frac * tf.gather(wheel, k1)
    r = rad[..., None]
    col = tf.where(r <= 1.0, 1.0 - r * (1.0 - col), col * 0.75)
    return tf.cast(tf.floor(255.0 * tf.clip_by_value(col, 0.0, 1.0)), tf.uint8)


@tf.keras.utils.register_keras_serializable(package="gain_tf")
class ContextualAttention(tf.keras.layers.Layer):
    """DeepFill v1 contextual attention, batched, with per-sample masks and shared streams.

    Fills the holes of a feature map with a softmax-weighted mix of full-resolution patches from
    the known region, the weights coming from patch similarity at ``1/rate`` resolution. No
    trainable weights. See the module docstring for the exact algorithm of each mode.

    Args:
      ksize: size of the low-resolution matching patches (3 in DeepFill and GAIN; an even size
        uses TF's SAME window, offsets -(k-1)//2 … k//2).
      stride: step of the candidate (background) patch grid at low resolution (1 in 'deepfill').
      rate: downscaling factor for matching; pasted patches are ``2·rate × 2·rate`` full-res
        pixels placed with stride ``rate``. H and W must be divisible by ``rate``.
      fuse_k: window of the attention propagation (identity kernel, both spatial orders).
      softmax_scale: multiplies the scores before the softmax.
      fuse: whether to apply attention propagation.
      mode: ``'deepfill'`` (DeepFill's published op, per sample) or ``'exact'`` (masked softmax,
        exact overlap normaliser, no wrap-around; see the module docstring).
      return_flow: if True, ``call`` returns ``(outputs, flow)`` with ``flow`` a ``uint8
        [B, H, W, 3]`` colour-coded image of the argmax offsets (for TensorBoard).

    Input: ``(features, valid)`` with ``features`` ``[B, H, W, C]`` and ``valid`` ``[B, H, W, 1]``
      (1 = known, 0 = hole; carries no gradient), or ``((stream_0, stream_1, ...), valid)`` with
      streams ``[B, H, W, C_i]`` sharing H and W: the scores come from ``stream_0`` only.
    Output: same structure as ``features``: ``[B, H, W, C]`` or a tuple of ``[B, H, W, C_i]``,
      equal to the input on known positions. With ``return_flow``: ``(that, flow)``.
      :meth:`flow_image` returns only the flow image; :meth:`attention_offsets` the raw
      ``int32 [B, H/rate, W/rate, 2]`` argmax offsets ``(dy, dx)`` in low-res pixels.
    """

    def __init__(self, ksize=3, stride=1, rate=2, fuse_k=3, softmax_scale=10.0, fuse=True,
                 mode="deepfill", return_flow=False, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("ksize", ksize), ("stride", stride), ("rate", rate),
                            ("fuse_k", fuse_k)):
            if int(value) != value or int(value) < 1:
                raise ValueError(f"ContextualAttention: {name} must be a positive integer, "
                                 f"got {value}")
        if mode not in MODES:
            raise ValueError(f"ContextualAttention: mode must be one of {MODES}, got {mode!r}")
        if mode == "deepfill" and int(stride) != 1:
            raise ValueError("ContextualAttention: mode='deepfill' supports stride=1 only "
                             f"(as DeepFill's op), got stride={stride}; use mode='exact'")
        self.ksize = int(ksize)
        self.stride = int(stride)
        self.rate = int(rate)
        self.fuse_k = int(fuse_k)
        self.softmax_scale = float(softmax_scale)
        self.fuse = bool(fuse)
        self.mode = mode
        self.return_flow = bool(return_flow)

    # ------------------------------------------------------------------ public API
    def call(self, inputs):
        features, valid = inputs
        multi = isinstance(features, (tuple, list))
        streams = tuple(features) if multi else (features,)
        outputs, offsets = self._attend(streams, valid, need_outputs=True,
                                       need_offsets=self.return_flow)
        result = tuple(outputs) if multi else outputs[0]
        if self.return_flow:
            return result, self._flow_from_offsets(offsets)
        return result

    def attention_offsets(self, inputs):
        """``int32 [B, H/rate, W/rate, 2]``: ``(dy, dx)`` from each low-res position to its argmax
        candidate, in low-res pixels (0 for a sample without candidates)."""
        features, valid = inputs
        streams = tuple(features) if isinstance(features, (tuple, list)) else (features,)
        return self._attend(streams, valid, need_outputs=False, need_offsets=True)[1]

    def flow_image(self, inputs):
        """``uint8 [B, H, W, 3]`` Middlebury colour image of :meth:`attention_offsets`."""
        return self._flow_from_offsets(self.attention_offsets(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(ksize=self.ksize, stride=self.stride, rate=self.rate, fuse_k=self.fuse_k,
                      softmax_scale=self.softmax_scale, fuse=self.fuse, mode=self.mode,
                      return_flow=self.return_flow)
        return config

    @classmethod
    def from_config(cls, config):
        # Layers saved before `mode` existed computed the 'exact' algorithm.
        return cls(**{"mode": "exact", **config})

    # ------------------------------------------------------------------ internals
    def _flow_from_offsets(self, offsets):
        flow = offsets * self.rate                          # full-res pixels
        r = self.rate
        if r > 1:
            flow = tf.repeat(tf.repeat(flow, r, axis=1), r, axis=2)
        return flow_to_color(flow)

    def _downsample(self, x0, known, h, w):
        """Low-res matching features and known mask (float32, 1 = known), per mode."""
        r = self.rate
        if r == 1:
            return x0, known
        if self.mode == "deepfill":
            return resize_nearest_aligned(x0, h, w), resize_nearest_aligned(known, h, w)
        return x0[:, ::r, ::r, :], -tf.nn.max_pool2d(-known, r, r, "VALID")

    def _candidates(self, known_lr):
        """``[B, nh, nw]`` bool: background patches allowed as sources."""
        k, s = self.ksize, self.stride
        if self.mode == "deepfill":   # no hole in the zero-padded hole-mask window (border: known)
            hole = tf.reduce_max(_patches(1.0 - known_lr, k, pad_value=0.0), axis=-1)
            return hole <= 0.0
        cand = tf.reduce_min(_patches(known_lr, k, pad_value=0.0), axis=-1)  # outside: hole
        cand = cand[:, ::s, ::s] if s > 1 else cand
        return cand > 0.5

    def _fuse(self, scores, h, w):
        """Attention propagation along x, then along y, on ``[B, h, w, nh, nw]`` scores."""
        k, s = self.fuse_k, self.stride
        if self.mode == "exact":
            scores = _diagonal_sum(scores, 2, 4, k, s)
            return _diagonal_sum(scores, 1, 3, k, s)
        # DeepFill: the flattened [h·w, h·w] matrix, row-major, then column-major (wraps rows).
        batch = tf.shape(scores)[0]
        flat = _diagonal_sum(tf.reshape(scores, [batch, h * w, h * w]), 1, 2, k)
        turned = tf.transpose(tf.reshape(flat, [batch, h, w, h, w]), [0, 2, 1, 4, 3])
        flat = _diagonal_sum(tf.reshape(turned, [batch, w * h, w * h]), 1, 2, k)
        return tf.transpose(tf.reshape(flat, [batch, w, h, w, h]), [0, 2, 1, 4, 3])

    def _weights(self, scores, cand, has_any):
        """Attention weights ``[B, h, w, nh, nw]`` from scores and the candidate mask."""
        candf = tf.cast(cand, tf.float32)
        if self.mode == "deepfill":   # scores zeroed, softmax over all, weights zeroed again
            logits = self.softmax_scale * scores * candf
            shape = tf.shape(logits)
            flat = tf.reshape(logits, tf.concat([shape[:3], [-1]], 0))
            return tf.reshape(tf.nn.softmax(flat, axis=-1), shape) * candf
        logits = self.softmax_scale * scores
        peak = tf.reduce_max(tf.where(cand, logits, tf.float32.min), axis=[3, 4], keepdims=True)
        peak = tf.stop_gradient(tf.where(has_any[:, None, None, None, None], peak, 0.0))
        e = tf.exp(tf.where(cand, logits, peak) - peak) * candf
        total = tf.reduce_sum(e, axis=[3, 4], keepdims=True)
        return e / tf.where(total > 0.0, total, 1.0)

    def _attend(self, streams, valid, need_outputs=True, need_offsets=False):
        x0 = streams[0]
        dtype = x0.dtype
        streams = tuple(tf.cast(s, dtype) for s in streams)
        r, k, s = self.rate, self.ksize, self.stride
        batch = tf.shape(x0)[0]
        height, width = _dim(x0, 1), _dim(x0, 2)
        for size in (height, width):
            if isinstance(size, int) and size % r:
                raise ValueError(f"ContextualAttention: H and W must be divisible by rate={r}, "
                                 f"got features of shape {x0.shape}")
        h, w = height // r, width // r

        valid = tf.stop_gradient(tf.cast(valid, dtype))
        known = tf.cast(valid > 0.5, tf.float32)

        # ---- low resolution matching features and candidate mask
        f, known_lr = self._downsample(x0, known, h, w)                 # [B,h,w,C], [B,h,w,1]
        cand = self._candidates(known_lr)                                # [B,nh,nw]
        nh, nw = _dim(cand, 1), _dim(cand, 2)
        n_p = h * w
        has_any = tf.reduce_any(cand, axis=[1, 2])                       # [B]
        cand = tf.reshape(cand, [batch, 1, 1, nh, nw])

        # ---- scores s(p,q) = sum_k <f[p+k], f[q+k]> / |w_q|, as [B, p_y, p_x, q_y, q_x]: one
        #      pixel Gram matrix, then a ksize×ksize diagonal window sum (the same numbers as
        #      ksize²·C-long patch vectors, ksize² times cheaper)
        flat = tf.reshape(f, [batch, n_p, _dim(f, 3)])
        gram = tf.matmul(flat, flat, transpose_b=True)
        gram = tf.reshape(tf.cast(gram, tf.float32), [batch, h, w, h, w])
        if k > 1:
            gram = _diagonal_sum(_diagonal_sum(gram, 2, 4, k), 1, 3, k)
        sq = tf.reduce_sum(tf.square(tf.cast(f, tf.float32)), axis=-1, keepdims=True)
        norm = tf.sqrt(tf.reduce_sum(_patches(sq, k), axis=-1))         # [B,h,w] = |w_q|
        if s > 1:
            gram, norm = gram[:, :, :, ::s, ::s], norm[:, ::s, ::s]
        norm = tf.reshape(tf.maximum(norm, 1e-4), [batch, 1, 1, nh, nw])
        scores = gram / norm                                            # [B,h,w,nh,nw]
        if self.fuse and self.fuse_k > 1:
            scores = self._fuse(scores, h, w)
        attention = self._weights(scores, cand, has_any)                 # [B,h,w,nh,nw]

        offsets = None
        if need_offsets:
            idx = tf.argmax(tf.reshape(attention, [batch, h, w, nh * nw]), axis=-1,
                            output_type=tf.int32)                        # [B,h,w]
            qy, qx = (idx // nw) * s, (idx % nw) * s
            py, px = tf.range(h)[None, :, None], tf.range(w)[None, None, :]
            offsets = tf.stack([qy - py, qx - px], axis=-1)
            offsets = offsets * tf.cast(has_any, tf.int32)[:, None, None, None]
        if not need_outputs:
            return None, offsets

        # ---- paste full-resolution 2r×2r patches with stride r (a transposed convolution).
        # Canvas frame: the input padded by off = r//2 before (TF SAME for kernel 2r, stride r),
        # cut into r×r blocks, (h+1)×(w+1) of them. Raw patch q is canvas blocks q + (a, b),
        # a, b in {0, 1}, and is pasted onto blocks p + (a, b). So block j of the result is
        #   sum_m W[j, m] · block m,   W[j, m] = sum_{a,b} att[j - (a,b), m - (a,b)],
        # one matmul over blocks instead of one over 2r×2r patches (4× fewer multiplications).
        sizes = [int(t.shape[-1]) for t in streams]
        xall = tf.concat(streams, axis=-1) if len(streams) > 1 else streams[0]
        off = r // 2
        canvas = tf.pad(xall, [[0, 0], [off, r - off], [off, r - off], [0, 0]])
        blocks = tf.nn.space_to_depth(canvas, r) if r > 1 else canvas   # [B,h+1,w+1,rrC]
        att = tf.cast(attention, dtype)
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
        rrc = _dim(blocks, 3)
        folded = tf.matmul(tf.reshape(weights, [batch, n_b, n_b]),
                           tf.reshape(blocks, [batch, n_b, rrc]))
        folded = tf.reshape(folded, [batch, h + 1, w + 1, rrc])
        folded = tf.nn.depth_to_space(folded, r) if r > 1 else folded
        attended = folded[:, off:off + height, off:off + width, :]
        if self.mode == "deepfill":
            attended = attended / tf.cast(4.0, dtype)
        else:
            attended = attended / self._overlap_count(h, w, height, width, dtype)

        out = xall * valid + attended * (1.0 - valid)
        if self.mode == "exact":
            out = tf.where(has_any[:, None, None, None], out, xall)
        if len(streams) == 1:
            return (out,), offsets
        return tuple(tf.split(out, sizes, axis=-1)), offsets

    def _overlap_count(self, h, w, height, width, dtype):
        """Number of pasted patches covering each full-res pixel, ``[1, H, W, 1]``."""
        r, off = self.rate, self.rate // 2

        def axis_count(n_blocks, n_pixels):
            block = tf.range(off, off + n_pixels) // r                 # canvas block of a pixel
            edge = tf.logical_or(tf.equal(block, 0), tf.equal(block, n_blocks))
            return tf.where(edge, 1.0, 2.0)

        rows = axis_count(h, height)
        cols = axis_count(w, width)
        return tf.cast(rows[None, :, None, None] * cols[None, None, :, None], dtype)
