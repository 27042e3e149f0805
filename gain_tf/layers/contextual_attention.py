"""Contextual attention (Yu et al. 2018, "Generative Image Inpainting with Contextual Attention").

GAIN reuses DeepFill v1's contextual attention at the end of branch 2 and defers to Yu et al. for
its details (docs/design.md, "Deviations and choices"). Two modes share one batched implementation; for
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
plain graphs. Dtypes: the Gram product ``f fᵀ`` runs in the input dtype (float16 under mixed
precision) and is cast to float32; the window sums, patch norms, scores and softmax run in float32;
the known mask is float32; pasting runs in the input dtype.

Several streams can share one attention: ``layer(((img_feat, grad_feat), valid))`` computes the
scores on the first (image) stream and pastes every stream with the same weights.

The tensor helpers (patches, diagonal window sums, aligned nearest resize) are in
:mod:`gain_tf.layers.attention_ops`; the offsets' colour picture in :mod:`gain_tf.layers.flow_image`.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.layers.attention_ops import (diagonal_sum, dim, overlap_count, paste_patches, patches,
                                          resize_nearest_aligned)
from gain_tf.layers.flow_image import flow_to_color

MODES = ("deepfill", "exact")


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
            hole = tf.reduce_max(patches(1.0 - known_lr, k, pad_value=0.0), axis=-1)
            return hole <= 0.0
        cand = tf.reduce_min(patches(known_lr, k, pad_value=0.0), axis=-1)  # outside: hole
        cand = cand[:, ::s, ::s] if s > 1 else cand
        return cand > 0.5

    def _fuse(self, scores, h, w):
        """Attention propagation along x, then along y, on ``[B, h, w, nh, nw]`` scores."""
        k, s = self.fuse_k, self.stride
        if self.mode == "exact":
            scores = diagonal_sum(scores, 2, 4, k, s)
            return diagonal_sum(scores, 1, 3, k, s)
        # DeepFill: the flattened [h·w, h·w] matrix, row-major, then column-major (wraps rows).
        batch = tf.shape(scores)[0]
        flat = diagonal_sum(tf.reshape(scores, [batch, h * w, h * w]), 1, 2, k)
        turned = tf.transpose(tf.reshape(flat, [batch, h, w, h, w]), [0, 2, 1, 4, 3])
        flat = diagonal_sum(tf.reshape(turned, [batch, w * h, w * h]), 1, 2, k)
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
        height, width = dim(x0, 1), dim(x0, 2)
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
        nh, nw = dim(cand, 1), dim(cand, 2)
        n_p = h * w
        has_any = tf.reduce_any(cand, axis=[1, 2])                       # [B]
        cand = tf.reshape(cand, [batch, 1, 1, nh, nw])

        # ---- scores s(p,q) = sum_k <f[p+k], f[q+k]> / |w_q|, as [B, p_y, p_x, q_y, q_x]: one
        #      pixel Gram matrix, then a ksize×ksize diagonal window sum (the same numbers as
        #      ksize²·C-long patch vectors, ksize² times cheaper)
        flat = tf.reshape(f, [batch, n_p, dim(f, 3)])
        gram = tf.matmul(flat, flat, transpose_b=True)
        gram = tf.reshape(tf.cast(gram, tf.float32), [batch, h, w, h, w])
        if k > 1:
            gram = diagonal_sum(diagonal_sum(gram, 2, 4, k), 1, 3, k)
        sq = tf.reduce_sum(tf.square(tf.cast(f, tf.float32)), axis=-1, keepdims=True)
        norm = tf.sqrt(tf.reduce_sum(patches(sq, k), axis=-1))         # [B,h,w] = |w_q|
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

        sizes = [int(t.shape[-1]) for t in streams]
        xall = tf.concat(streams, axis=-1) if len(streams) > 1 else streams[0]
        attended = paste_patches(xall, tf.cast(attention, dtype), r, s)
        if self.mode == "deepfill":
            attended = attended / tf.cast(4.0, dtype)
        else:
            attended = attended / tf.cast(overlap_count(height, width, r), dtype)

        out = xall * valid + attended * (1.0 - valid)
        if self.mode == "exact":
            out = tf.where(has_any[:, None, None, None], out, xall)
        if len(streams) == 1:
            return (out,), offsets
        return tuple(tf.split(out, sizes, axis=-1)), offsets
