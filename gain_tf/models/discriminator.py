"""SN-PatchGAN discriminator (Yu et al., "Free-Form Image Inpainting with Gated Convolution").

GAIN uses two: ``D^I`` on (image, mask) and ``D^S`` on (gradient map, mask). Each is six 5×5
stride-2 convolutions (64, 128, 256, 256, 256, 256 channels in the paper) with spectral
normalisation; LeakyReLU(0.2) after the first five, the sixth is linear (choice) and its whole
output map is the patch score map.
"""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from gain_tf.ops.sn import spectral_norm


class PatchDiscriminator(tf.keras.Model):
    """SN-PatchGAN: ``scores = D((x, valid))``.

    Args:
      channels: output channels of the stride-2 convolutions.
      kernel_size: their kernel size.
      leaky_slope: LeakyReLU slope.

    Input: ``x [B,H,W,C]`` (an image in [-1, 1] or a guidance map) and ``valid [B,H,W,1]``
      (1 = known); the hole mask ``1 − valid`` is concatenated as an extra channel.
    Output: score map ``[B, H/2^n, W/2^n, channels[-1]]``, float32.
    """

    def __init__(self, channels: Sequence[int] = (64, 128, 256, 256, 256, 256), kernel_size=5,
                 leaky_slope=0.2, **kwargs):
        super().__init__(**kwargs)
        self.channels = tuple(int(c) for c in channels)
        self.kernel_size = int(kernel_size)
        self.leaky_slope = float(leaky_slope)
        self.convs = [spectral_norm(tf.keras.layers.Conv2D(c, kernel_size, strides=2, padding="same"))
                      for c in self.channels]

    def call(self, inputs, training=None):
        x, valid = inputs
        x = tf.cast(x, self.compute_dtype)
        hole = 1.0 - tf.cast(valid, self.compute_dtype)
        h = tf.concat([x, hole], axis=-1)
        for i, conv in enumerate(self.convs):
            h = conv(h, training=training)
            if i < len(self.convs) - 1:
                h = tf.nn.leaky_relu(h, self.leaky_slope)
        return tf.cast(h, tf.float32)

    def get_config(self):
        return {"channels": self.channels, "kernel_size": self.kernel_size,
                "leaky_slope": self.leaky_slope}


def build_discriminators(config) -> tuple:
    """``(D^I, D^S)`` of a :class:`gain_tf.config.GAINConfig` (``D^S`` is None without a guidance
    stream), named ``d_image`` and ``d_guide``."""
    from gain_tf.guidance import guidance_for
    m = config.model
    make = lambda name: PatchDiscriminator(m.disc_channels, m.disc_kernel, m.disc_leaky_slope,
                                           name=name)
    return make("d_image"), (make("d_guide") if guidance_for(m).channels else None)
