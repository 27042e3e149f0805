"""Partial convolution (Liu et al., ECCV 2018) with a single-channel mask per stream.

Formula (README, "Deviations and choices"), for each output position with input window ``w``::

    X' = W · (X ⊙ M)_w · (k_h · k_w / sum(M_w)) + b     where sum(M_w) > 0, else 0
    M' = [sum(M_w) > 0]

The mask is single-channel and shared by all feature channels; positions outside the image count as
holes (zero padding of the mask). Stride and dilation apply to the mask window exactly as to the
kernel, with TensorFlow 'same' placement; for stride 1 and odd kernels this is the symmetric padding
of NVIDIA's reference ``PartialConv2d(multi_channel=False)``, whose outputs it reproduces.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.ops.dilated import conv2d_same


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (int(v), int(v))


def serialize_optional(layer):
    """A sub-layer argument in ``get_config``: its Keras config, or None."""
    return tf.keras.layers.serialize(layer) if layer is not None else None


def deserialize_optional(config: dict, key: str) -> dict:
    """``config`` with the sub-layer under ``key`` (when not None) built from its Keras config."""
    config = dict(config)
    if config.get(key) is not None:
        config[key] = tf.keras.layers.deserialize(config[key])
    return config


@tf.keras.utils.register_keras_serializable(package="gain_tf")
class PartialConv2D(tf.keras.layers.Layer):
    """Partial 2-D convolution: ``y, new_valid = PartialConv2D(...)((x, valid))``.

    Args:
      filters: number of output channels.
      kernel_size: int or pair.
      strides: int or pair; 'same' placement as in TensorFlow.
      dilation_rate: int or pair (strides and dilation > 1 together are not supported, as in Conv2D).
      use_bias: add a bias where the output is valid.
      activation: applied to the output (then re-masked, so holes stay 0).
      kernel_initializer, bias_initializer, kernel_regularizer: as in ``tf.keras.layers.Conv2D``.
      mask_update: optional hook replacing the mask update. A callable (usually a Keras layer such
        as :class:`gain_tf.layers.MaskShrink`) called as
        ``mask_update((valid, standard_update, window_fraction, guide))`` and returning the new mask,
        which must lie between ``valid`` and ``standard_update``. ``window_fraction`` is
        ``sum(M_w) / (k_h k_w)``; these three are float32 whatever the compute dtype. ``guide``
        is the optional third element of the layer's input.
        Features are computed as usual and then zeroed off the returned mask.

    Input: ``(x, valid)`` or ``(x, valid, guide)`` with ``x`` ``[B, H, W, C]``, ``valid``
      ``[B, H, W, 1]`` (1 = known, 0 = hole), ``guide`` whatever ``mask_update`` expects.
    Output: ``(y, new_valid)`` with ``y`` ``[B, H', W', filters]`` (0 wherever ``new_valid`` is 0)
      and ``new_valid`` ``[B, H', W', 1]``; ``H' = ceil(H / stride)``.
    Masks carry no gradient.
    """

    def __init__(self, filters, kernel_size, strides=1, dilation_rate=1, use_bias=True,
                 activation=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, mask_update=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size)
        self.strides = _pair(strides)
        self.dilation_rate = _pair(dilation_rate)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("PartialConv2D: strides > 1 and dilation_rate > 1 cannot be combined")
        self.use_bias = bool(use_bias)
        self.activation = tf.keras.activations.get(activation)
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
        self.bias_initializer = tf.keras.initializers.get(bias_initializer)
        self.kernel_regularizer = tf.keras.regularizers.get(kernel_regularizer)
        self.mask_update = mask_update
        self.window_size = float(self.kernel_size[0] * self.kernel_size[1])

    def build(self, input_shape):
        x_shape = tf.TensorShape(input_shape[0])
        channels = int(x_shape[-1])
        self.kernel = self.add_weight(
            "kernel", shape=self.kernel_size + (channels, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", shape=(self.filters,), initializer=self.bias_initializer)
                     if self.use_bias else None)
        super().build(input_shape)

    def window_sum(self, valid):
        """``sum(M_w)`` at every output position (zero-padded mask), ``[B, H', W', 1]``."""
        ones = tf.ones(self.kernel_size + (1, 1), dtype=valid.dtype)
        s = conv2d_same(valid, ones, self.strides, self.dilation_rate)
        return tf.round(s)  # integer counts, exact whatever convolution algorithm ran

    def call(self, inputs):
        x, valid = inputs[0], inputs[1]
        guide = inputs[2] if len(inputs) > 2 else None
        # Mask arithmetic in float32 whatever the compute dtype (exact counts and fractions).
        valid = tf.stop_gradient(tf.cast(valid, tf.float32))
        wsum = self.window_sum(valid)
        standard = tf.cast(wsum > 0, tf.float32)
        ratio = tf.cast(self.window_size / tf.maximum(wsum, 1.0) * standard, x.dtype)
        y = conv2d_same(x * tf.cast(valid, x.dtype), tf.cast(self.kernel, x.dtype), self.strides,
                        self.dilation_rate)
        y = y * ratio
        if self.mask_update is not None:
            new_valid = self.mask_update((valid, standard, wsum / self.window_size, guide))
            new_valid = tf.stop_gradient(tf.cast(new_valid, x.dtype))
        else:
            new_valid = tf.cast(standard, x.dtype)
        if self.use_bias:
            y = y + tf.cast(self.bias, x.dtype) * new_valid
        if self.activation is not None and self.activation is not tf.keras.activations.linear:
            y = self.activation(y) * new_valid
        elif self.mask_update is not None:
            y = y * new_valid
        return y, new_valid

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
            dilation_rate=self.dilation_rate, use_bias=self.use_bias,
            activation=tf.keras.activations.serialize(self.activation),
            kernel_initializer=tf.keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=tf.keras.initializers.serialize(self.bias_initializer),
            kernel_regularizer=tf.keras.regularizers.serialize(self.kernel_regularizer),
            mask_update=serialize_optional(self.mask_update))
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**deserialize_optional(config, "mask_update"))
