"""GAI-Block: the gradient-augmented block that replaces every convolution of GAIN's generator.

Data flow (README, "Deviations and choices")::

    I1,  M' = Pconv_II(X_I, M)            # k, stride, dilation   (M' may be restricted by MaskShrink)
    G1       = Pconv_GG(X_G, M)            # same hyper-parameters, own weights
    I2       = Pconv_GI(X_G, M)            # gradient -> image
    dI, M_e  = Grad(I1, M')                # 2 * C_I_out channels, M_e = erode(M')
    G2       = Pconv_IG(dI, M_e)           # 3×3, stride 1, dilation 1
    X_I' = act(I1 + I2);  X_G' = act(G1 + G2);  output mask M'

All four summands carry the block's output mask ``M'`` by construction: ``Pconv_II`` computes it
(the ordinary partial-convolution update, or MaskShrink's restriction of it), and the other three
partial convolutions take it through their mask-update hook. ``G2`` sees ``dI`` only on ``M_e``; at
the few positions of ``M'`` whose 3×3 window holds no ``M_e`` pixel it contributes its bias only.

The paper's ablations are arguments of the same block: ``fusion=False`` drops Pconv_GI and
Pconv_IG (two streams, no sharing); ``gradient_filters=0`` drops the guidance stream altogether
(a plain partial convolution; the returned gradient stream has 0 channels).
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.layers.gradient import GradientFilter
from gain_tf.layers.partial_conv import PartialConv2D, deserialize_optional, serialize_optional


@tf.keras.utils.register_keras_serializable(package="gain_tf")
class GuideMask(tf.keras.layers.Layer):
    """Mask-update hook that returns the mask passed as the partial convolution's guide."""

    def call(self, inputs):
        return inputs[3]


@tf.keras.utils.register_keras_serializable(package="gain_tf")
class GAIBlock(tf.keras.layers.Layer):
    """Gradient Augmented Inpainting block: ``img, grad, valid = GAIBlock(...)((img, grad, valid))``.

    Args:
      image_filters: output channels of the image stream (C_I_out).
      gradient_filters: output channels of the gradient stream (C_G_out).
      kernel_size, strides, dilation_rate: of Pconv_II, Pconv_GG and Pconv_GI.
      activation: applied to both sums (None for G's last block).
      mask_shrink: optional mask-update layer (e.g. ``MaskShrink(0.4, dilation_rate=d)``, with the
        block's dilation d) used for the block's mask update, guided by the block's input
        gradient stream.
      fusion: keep the cross-stream partial convolutions Pconv_GI and Pconv_IG (GAI fusion).

    Input: ``(x_img [B,H,W,C_I], x_grad [B,H,W,C_G], valid [B,H,W,1])``; one mask for both streams.
    Output: ``(img [B,H',W',image_filters], grad [B,H',W',gradient_filters], valid [B,H',W',1])``,
      ``H' = ceil(H / strides)``; features are 0 wherever the output mask is 0.
    """

    def __init__(self, image_filters, gradient_filters, kernel_size, strides=1, dilation_rate=1,
                 activation="elu", mask_shrink=None, fusion=True, **kwargs):
        super().__init__(**kwargs)
        self.image_filters = int(image_filters)
        self.gradient_filters = int(gradient_filters)
        self.kernel_size = kernel_size
        self.strides = strides
        self.dilation_rate = dilation_rate
        self.activation = tf.keras.activations.get(activation)
        self.mask_shrink = mask_shrink
        self.fusion = bool(fusion) and self.gradient_filters > 0
        if mask_shrink is not None and self.gradient_filters == 0:
            raise ValueError("GAIBlock: mask_shrink needs a gradient stream (gradient_filters > 0)")
        if mask_shrink is not None and kernel_size not in (3, (3, 3)):
            raise ValueError(f"GAIBlock: mask_shrink reads a 3×3 window, got kernel_size="
                             f"{kernel_size}")
        if getattr(mask_shrink, "dilation_rate", dilation_rate) != dilation_rate:
            raise ValueError(f"GAIBlock: mask_shrink must use the block's dilation_rate="
                             f"{dilation_rate}, got {mask_shrink.dilation_rate}")
        # One initializer object per convolution: an unseeded Keras initializer draws one seed
        # when made and returns the same numbers at every call, so sharing one would start the
        # block's convolutions from the same random stream.
        geometry = lambda: dict(kernel_size=kernel_size, strides=strides,
                                dilation_rate=dilation_rate, kernel_initializer=self._initializer())
        self.pconv_ii = PartialConv2D(image_filters, mask_update=mask_shrink, name="pconv_ii",
                                      **geometry())
        if self.gradient_filters:
            self.pconv_gg = PartialConv2D(gradient_filters, mask_update=GuideMask(),
                                          name="pconv_gg", **geometry())
        if self.fusion:
            self.pconv_gi = PartialConv2D(image_filters, mask_update=GuideMask(), name="pconv_gi",
                                          **geometry())
            self.grad = GradientFilter(name="grad")
            self.pconv_ig = PartialConv2D(gradient_filters, 3, mask_update=GuideMask(),
                                          kernel_initializer=self._initializer(),
                                          name="pconv_ig")

    def _initializer(self):
        """Each output is a sum of two partial convolutions (one without fusion): each gets half
        the variance of a fan-in scaled init, so activations keep their scale through GAIN's ~30
        stacked blocks instead of doubling at each (Glorot init saturated the clipped output)."""
        return tf.keras.initializers.VarianceScaling(0.5 if self.fusion else 1.0, "fan_in",
                                                     "truncated_normal")

    def summands(self, inputs):
        """The summands with their masks: ``{'I1': (I1, m), 'I2': ..., 'G1': ..., 'G2': ...}``
        (only those the block has: no I2/G2 without fusion, only I1 without a gradient stream)."""
        x_img, x_grad, valid = inputs
        if not self.gradient_filters:
            i1, m = self.pconv_ii((x_img, valid))
            return {"I1": (i1, m)}
        i1, m = self.pconv_ii((x_img, valid, x_grad))
        out = {"I1": (i1, m), "G1": self.pconv_gg((x_grad, valid, m))}
        if self.fusion:
            out["I2"] = self.pconv_gi((x_grad, valid, m))
            d_i, m_e = self.grad((i1, m))
            out["G2"] = self.pconv_ig((d_i, m_e, m))
        return out

    def call(self, inputs):
        s = self.summands(inputs)
        m = s["I1"][1]
        img = s["I1"][0] + s["I2"][0] if "I2" in s else s["I1"][0]
        if "G1" in s:
            grad = s["G1"][0] + s["G2"][0] if "G2" in s else s["G1"][0]
        else:
            grad = tf.zeros(tf.concat([tf.shape(img)[:3], [0]], 0), img.dtype)
        if self.activation is not None and self.activation is not tf.keras.activations.linear:
            img = self.activation(img) * m
            grad = self.activation(grad) * m
        return img, grad, m

    def get_config(self):
        config = super().get_config()
        config.update(
            image_filters=self.image_filters, gradient_filters=self.gradient_filters,
            kernel_size=self.kernel_size, strides=self.strides, dilation_rate=self.dilation_rate,
            fusion=self.fusion,
            activation=tf.keras.activations.serialize(self.activation) if self.activation else None,
            mask_shrink=serialize_optional(self.mask_shrink))
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**deserialize_optional(config, "mask_shrink"))
