"""tensorflow-gan's evaluation ops, behind one small module.

This is the only place in the package that imports ``tensorflow_gan``; the import is done when the
module is imported, so import this module lazily where it is needed.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_gan as tfgan


def frechet_distance_from_activations(act1, act2) -> float:
    """tensorflow-gan's Fréchet distance between two activation sets, in float64.

    ``d² = ||μ1 − μ2||² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)`` with sample means ``μ`` and unbiased
    (``n − 1``) sample covariances ``Σ`` of the rows of ``act1`` ``[N1, D]`` and ``act2`` ``[N2, D]``
    (``tfgan.eval.frechet_classifier_distance_from_activations``). Costs two ``D × D`` SVDs.
    """
    a1 = tf.constant(np.asarray(act1, dtype=np.float64))
    a2 = tf.constant(np.asarray(act2, dtype=np.float64))
    return float(tfgan.eval.frechet_classifier_distance_from_activations(a1, a2).numpy())
