"""Spectral normalisation: tensorflow-addons' layer where it imports, Keras's own elsewhere.

* Reference stack (TensorFlow 2.15, Keras 2): ``tfa.layers.SpectralNormalization``, as GAIN was
  trained with.
* Where tensorflow-addons is not installed or fails to import (TensorFlow ≥ 2.16: it needs
  ``keras.src.engine``, which Keras 3 and tf-keras 2.16+ lack): ``tf.keras.layers.SpectralNormalization``
  (Keras 2.15 and tf-keras 2.21), through :class:`KerasSpectralNormalization`, which also tracks the
  power-iteration vector under tensorflow-addons' checkpoint name ``u``, so checkpoints load across
  the two stacks.

Both do, per training call, ``power_iterations`` steps of the power method and divide the kernel
variable in place by σ; σ gets no gradient. What differs is in docs/stacks.md. This is the one
module that imports tensorflow-addons; :data:`IMPLEMENTATION` says which one is in use.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.ops import optional_import

tfa = optional_import("tensorflow_addons")

#: ``"tensorflow_addons"`` (reference stack) or ``"keras"`` (where tensorflow-addons does not import).
IMPLEMENTATION = "tensorflow_addons" if tfa is not None else "keras"


class KerasSpectralNormalization(tf.keras.layers.SpectralNormalization):
    """``tf.keras.layers.SpectralNormalization`` whose vector ``u`` is also checkpointed as ``u``.

    Keras names it ``vector_u``, tensorflow-addons ``u`` (variable ``sn_u``). A second checkpoint
    edge named ``u`` to the same variable lets a tensorflow-addons checkpoint restore it here, and a
    checkpoint written here restore it under tensorflow-addons. The kernel needs nothing: both
    wrappers checkpoint it as ``layer/kernel``.
    """

    def build(self, input_shape):
        super().build(input_shape)
        self._track_trackable(self.vector_u, name="u", overwrite=True)


def spectral_norm(layer: tf.keras.layers.Layer, power_iterations: int = 1) -> tf.keras.layers.Layer:
    """Wraps ``layer`` (Conv2D, Dense) with spectral normalisation of its kernel (Miyato et al. 2018).

    ``W_SN = W / σ(W)``, σ estimated by ``power_iterations`` steps of the power method per training
    call; the normalised kernel is what the layer uses.
    """
    if tfa is not None:
        return tfa.layers.SpectralNormalization(layer, power_iterations=power_iterations)
    return KerasSpectralNormalization(layer, power_iterations=power_iterations)
