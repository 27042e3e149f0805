"""Spectral normalisation, the one place that imports tensorflow-addons.

tensorflow-addons does not import on Keras 3 (TensorFlow 2.16+); moving there means replacing
this module (e.g. with ``keras.layers.SpectralNormalization``) and nothing else.
"""
from __future__ import annotations

import warnings

import tensorflow as tf

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import tensorflow_addons as tfa


def spectral_norm(layer: tf.keras.layers.Layer, power_iterations: int = 1) -> tf.keras.layers.Layer:
    """Wraps ``layer`` (Conv2D, Dense) with spectral normalisation of its kernel (Miyato et al. 2018).

    ``W_SN = W / σ(W)``, σ estimated by ``power_iterations`` steps of the power method per training
    call; the normalised kernel is what the layer uses.
    """
    return tfa.layers.SpectralNormalization(layer, power_iterations=power_iterations)
