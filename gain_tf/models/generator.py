"""GAINGenerator: GAIN's one-stage, two-branch generator built of GAI-Blocks.

Layout (docs/design.md, "Deviations and choices"), widths ``c_I`` / ``c_G`` from ``config.model``::

    inputs: I1 = I ⊙ M, guidance ∇I1 (or edges), M
    branch b ∈ {structure, content}:
        entry GAI-Block 5×5                       (c_I,  c_G)
        2 × GAI-Block 3×3 stride 2                (2c, 4c)
        structure: 6 dilation blocks (GAI-Blocks dilation 2, 4, 8, 16), MaskShrink in the first 4
        content:   2 dilation blocks, then contextual attention on the input hole mask resized
                   to 1/4 (DeepFill's resize_mask_like); the mask is all valid after it
    decoder: concat both branches per stream (mask: union), 2 × [bilinear ×2 + GAI-Block 3×3]
             (channels halve), final GAI-Block 3×3 -> 3 image and 2 gradient channels, no activation
    outputs: image = clip(I*, -1, 1), gradient = ∇I*, composite = image ⊙ (1 − M) + I ⊙ M
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.config import GAINConfig
from gain_tf.guidance import guidance_for
from gain_tf.layers import ContextualAttention, GAIBlock, MaskShrink
from gain_tf.layers.composite import composite
from gain_tf.layers.attention_ops import resize_nearest_aligned


def upsample(x, valid):
    """Bilinear ×2 for features, nearest ×2 for the mask."""
    size = tf.shape(x)[1:3] * 2
    # Resized in float32 (what ResizeBilinear computes anyway): under mixed precision a float16
    # input makes XLA's gradient mix f16 and f32 operands and fail to compile.
    up = tf.image.resize(tf.cast(x, tf.float32), size, method="bilinear")
    valid = tf.image.resize(valid, size, method="nearest")
    return tf.cast(up, x.dtype) * valid, valid


class GAINGenerator(tf.keras.Model):
    """GAIN's generator: ``out = G((image, valid))`` or ``G((image, valid, guidance))``.

    Args:
      config: a :class:`gain_tf.config.GAINConfig`.

    Input: ``image [B,H,W,3]`` in [-1, 1], ``valid [B,H,W,1]`` (1 = known, 0 = hole), and for
      ``guidance='edge'`` the masked binary edge map ``[B,H,W,1]`` (computed in the input pipeline,
      see :mod:`gain_tf.guidance`). H, W must be multiples of ``config.model.multiple``.
    Output: dict with ``image`` (I*, [-1, 1]), ``gradient`` (the guidance map ∇I* ``[B,H,W,2]``, or
      the edge logits ``[B,H,W,1]``; absent for ``guidance='none'``), ``composite``; with
      ``return_masks=True`` also ``masks``: a list of ``(block name, valid mask)`` in order (for
      the attention, the hole mask it was given).
      Outputs are float32 whatever the compute dtype.
    """

    def __init__(self, config: GAINConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.guidance = guidance_for(config.model)
        c = config.model
        gc = c.gradient_channels if self.guidance.channels else 0
        block = lambda ci, cg, k, name, **kw: GAIBlock(
            ci, cg if gc else 0, k, activation=c.activation, fusion=c.fusion == "gai", name=name, **kw)
        self.branches = {}
        for branch in ("structure", "content"):
            layers = [block(c.image_channels, gc, c.entry_kernel, f"{branch}_entry")]
            ci, cg = c.image_channels, gc
            for i in range(c.num_downsamples):
                ci, cg = ci * 2, cg * 2
                layers.append(block(ci, cg, c.down_kernel, f"{branch}_down{i + 1}", strides=2))
            n_blocks = c.structure_dilation_blocks if branch == "structure" else c.content_dilation_blocks
            for b in range(n_blocks):
                shrink = c.mask_priority and branch == "structure" and b < c.mask_priority_blocks
                for d in c.dilations:
                    layers.append(block(ci, cg, 3, f"{branch}_dil{b + 1}_{d}", dilation_rate=d,
                                        mask_shrink=(MaskShrink(c.delta, dilation_rate=d)
                                                     if shrink else None)))
            self.branches[branch] = layers
        # Keras tracks layers assigned as attributes; keep explicit handles.
        self.structure_blocks = self.branches["structure"]
        self.content_blocks = self.branches["content"]
        self.attention = None
        if c.attention:
            self.attention = ContextualAttention(
                ksize=c.attention_ksize, stride=c.attention_stride, rate=c.attention_rate,
                fuse_k=c.attention_fuse_k, softmax_scale=c.attention_softmax_scale,
                fuse=c.attention_fuse, mode=c.attention_mode, name="content_attention")
        self.decoder_blocks = []
        ci, cg = c.image_channels * 2 ** c.num_downsamples, gc * 2 ** c.num_downsamples
        for i in range(c.num_downsamples):
            ci, cg = ci // 2, cg // 2
            self.decoder_blocks.append(block(ci, cg, 3, f"decoder_up{i + 1}"))
        self.output_block = GAIBlock(3, self.guidance.channels, 3, activation=None,
                                     fusion=c.fusion == "gai", name="output")

    def example_inputs(self, height: int, width: int = None, batch: int = 1) -> tuple:
        """Blank inputs (zeros image, all-known mask, and an edge map if needed)."""
        return self.guidance.example_inputs(height, width, batch)

    def _run_branch(self, name, img, grad, valid, masks, hole_valid=None):
        for layer in self.branches[name]:
            img, grad, valid = layer((img, grad, valid))
            masks.append((layer.name, valid))
        if name == "content" and self.attention is not None:
            # The attention sees the *input* hole (the running mask is all valid by now), brought
            # to its resolution as DeepFill's resize_mask_like does.
            valid = resize_nearest_aligned(hole_valid, tf.shape(img)[1], tf.shape(img)[2])
            if grad.shape[-1]:
                img, grad = self.attention(((img, grad), valid))
            else:
                img = self.attention((img, valid))
            masks.append((self.attention.name, valid))
            valid = tf.ones_like(valid)
        return img, grad, valid

    def call(self, inputs, return_masks=False, training=None):
        image, valid = inputs[0], inputs[1]
        dtype = self.compute_dtype
        image = tf.cast(image, dtype)
        valid = tf.stop_gradient(tf.cast(valid, dtype))
        guide = self.guidance.generator_input(image, valid, inputs[2] if len(inputs) > 2 else None)
        img0 = image * valid
        masks = []
        s_img, s_grad, s_valid = self._run_branch("structure", img0, guide, valid, masks)
        c_img, c_grad, c_valid = self._run_branch("content", img0, guide, valid, masks, valid)
        img = tf.concat([s_img, c_img], -1)
        grad = tf.concat([s_grad, c_grad], -1)
        m = tf.maximum(s_valid, c_valid)
        for layer in self.decoder_blocks:
            img, grad, m = self._up_block(layer, img, grad, m)
            masks.append((layer.name, m))
        img, grad, m = self.output_block((img, grad, m))
        masks.append((self.output_block.name, m))
        out_image = tf.clip_by_value(tf.cast(img, tf.float32), -1.0, 1.0)
        valid32 = tf.cast(valid, tf.float32)
        image32 = tf.cast(inputs[0], tf.float32)
        out = {"image": out_image,
               "composite": composite(out_image, image32, valid32)}
        if self.guidance.channels:
            out["gradient"] = tf.cast(grad, tf.float32)
        if return_masks:
            out["masks"] = [(n, tf.cast(v, tf.float32)) for n, v in masks]
        return out

    @staticmethod
    def _up_block(layer, img, grad, m):
        img, m_up = upsample(img, m)
        if grad.shape[-1]:
            grad, _ = upsample(grad, m)
        else:
            grad = tf.zeros(tf.concat([tf.shape(img)[:3], [0]], 0), img.dtype)
        return layer((img, grad, m_up))

    def get_config(self):
        return {"config": self.config.to_json()}

    @classmethod
    def from_config(cls, config):
        return cls(GAINConfig.from_json(config["config"]))
