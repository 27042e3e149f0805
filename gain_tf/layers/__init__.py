"""GAIN's Keras layers. Each takes and returns tuples, e.g. ``y, valid = PartialConv2D(...)((x, valid))``."""
from gain_tf.layers.contextual_attention import ContextualAttention
from gain_tf.layers.gai_block import GAIBlock
from gain_tf.layers.gradient import GradientFilter, gradient_input, image_gradient
from gain_tf.layers.mask_shrink import MaskShrink
from gain_tf.layers.partial_conv import PartialConv2D

__all__ = ["ContextualAttention", "GAIBlock", "GradientFilter", "MaskShrink", "PartialConv2D", "gradient_input",
           "image_gradient"]
