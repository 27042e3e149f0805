"""The guidance stream's modes (gradient, edge, none): one small object each, the one place that tells them apart.

A :class:`Guidance` knows its channel count, how to make G's guidance input and the loss target
from a batch, what the input pipeline must add to a batch, and how to compute its input at serving
time. Everything else asks it instead of comparing mode names (docs/evaluation.md, "Ablation study")::

    guide = guidance_for(config.model)
    guide.channels                      # 2 (∂x, ∂y), 1 (edge map) or 0 (no stream)
    guide.generator_inputs(batch)       # (image, valid) or (image, valid, edges)
    guide.target(batch)                 # what G's guidance output is compared with (None: nothing)
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.layers.gradient import gradient_input, image_gradient


class Guidance:
    """Base: the ``'none'`` mode (no guidance stream, no second discriminator)."""

    name = "none"
    channels = 0

    def generator_input(self, image, valid, given=None):
        """G's guidance input inside the generator: ``[B,H,W,channels]``, 0 on holes."""
        return tf.zeros(tf.concat([tf.shape(image)[:3], [0]], 0), image.dtype)

    def generator_inputs(self, batch) -> tuple:
        """What G is called with for a batch dict (``image``, ``valid`` and maybe more)."""
        return (batch["image"], batch["valid"])

    def target(self, batch):
        """The ground truth of G's guidance output for a batch dict (None: no guidance output)."""
        return None

    def add_to_batch(self, batch):
        """tf.data map: what the input pipeline must add to a batch dict (nothing here)."""
        return batch

    def serving_inputs(self, image, valid) -> tuple:
        """G's inputs at serving time from an image in [-1, 1] and its valid mask."""
        return (image, valid)

    def example_inputs(self, height: int, width: int = None, batch: int = 1) -> tuple:
        """Blank inputs of G (zeros image, all-known mask, and what the mode adds) of
        ``height``×``width`` (square by default), to build variables or trace graphs."""
        shape = (batch, height, width or height)
        return self.serving_inputs(tf.zeros(shape + (3,)), tf.ones(shape + (1,)))


class GradientGuidance(Guidance):
    """GAIN: the image gradient ∇I (G's input ∇I1 is computed inside G from image and mask)."""

    name = "gradient"
    channels = 2

    def generator_input(self, image, valid, given=None):
        return gradient_input(image, valid)

    def target(self, batch):
        return image_gradient(batch["image"])


class EdgeGuidance(Guidance):
    """EdgeConnect-style: a binary Canny map of the masked grayscale image (computed in the input
    pipeline, or in the serving graph), target: Canny of the full image."""

    name = "edge"
    channels = 1

    def __init__(self, low: int, high: int):
        self.low, self.high = int(low), int(high)

    def generator_input(self, image, valid, given=None):
        if given is None:
            raise ValueError("guidance='edge': pass the masked edge map as G((image, valid, edges))")
        return tf.cast(given, image.dtype) * valid

    def generator_inputs(self, batch) -> tuple:
        return (batch["image"], batch["valid"], batch["edges"])

    def target(self, batch):
        return batch["edges_target"]

    def add_to_batch(self, batch):
        from gain_tf.edges import add_edges
        return add_edges(batch, self.low, self.high)

    def serving_inputs(self, image, valid) -> tuple:
        from gain_tf.edges import masked_canny
        return (image, valid, masked_canny(image, valid, self.low, self.high))


def guidance_for(model_config) -> Guidance:
    """The :class:`Guidance` of a ``ModelConfig`` (or a ``GAINConfig``)."""
    m = getattr(model_config, "model", model_config)
    modes = {"gradient": GradientGuidance, "none": Guidance,
             "edge": lambda: EdgeGuidance(m.canny_low, m.canny_high)}
    return modes[m.guidance]()
