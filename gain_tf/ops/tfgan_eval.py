"""The Fréchet distance between activation sets: tensorflow-gan's where it imports, ours elsewhere.

* Reference stack (TensorFlow 2.15): ``tfgan.eval.frechet_classifier_distance_from_activations``.
* Where tensorflow-gan is not installed or fails to import (TensorFlow ≥ 2.16 has no
  ``tf.estimator``): :func:`own_frechet_distance`, the same formula in numpy float64 through two
  symmetric eigendecompositions; tests/evaluation/test_fid.py shows the two equal within 1e-6
  (relative) where both exist, and ours equal to a scipy ``sqrtm`` reference everywhere.

``tensorflow_gan`` is imported here and in :mod:`gain_tf.losses` (the hinge losses), nowhere else;
the import is done when the module is imported, so import this module lazily where it is needed.
:data:`IMPLEMENTATION` says which one is in use.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from gain_tf.ops import optional_import

tfgan = optional_import("tensorflow_gan")

#: ``"tensorflow_gan"`` (reference stack) or ``"own"`` (where tensorflow-gan does not import).
IMPLEMENTATION = "tensorflow_gan" if tfgan is not None else "own"


def _mean_and_covariance(a: np.ndarray):
    """Sample mean and unbiased (``n − 1``) sample covariance of the rows of ``a [n, D]``."""
    mu = a.mean(axis=0)
    x = a - mu
    return mu, (x.T @ x) / (a.shape[0] - 1)


def own_frechet_distance(act1, act2) -> float:
    """``d² = ||μ1 − μ2||² + Tr Σ1 + Tr Σ2 − 2 Tr (Σ1 Σ2)^½`` in numpy float64.

    With ``S = Σ1^½``, ``Σ1 Σ2 = S (S Σ2)`` and the symmetric positive semi-definite
    ``S Σ2 S = (S Σ2) S`` have the same eigenvalues (as ``AB`` and ``BA`` do), so
    ``Tr (Σ1 Σ2)^½ = Σ_i √λ_i`` over the eigenvalues ``λ_i`` of ``S Σ2 S``. ``S`` comes from the
    eigendecomposition of ``Σ1``. Eigenvalues that round-off pushes below zero are taken as zero.
    Costs two ``D × D`` symmetric eigendecompositions.
    """
    a1 = np.asarray(act1, dtype=np.float64)
    a2 = np.asarray(act2, dtype=np.float64)
    mu1, sigma1 = _mean_and_covariance(a1)
    mu2, sigma2 = _mean_and_covariance(a2)
    w, v = np.linalg.eigh(sigma1)
    sqrt_sigma1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    middle = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    lam = np.linalg.eigvalsh((middle + middle.T) / 2.0)   # symmetric up to round-off
    trace_sqrt = float(np.sum(np.sqrt(np.clip(lam, 0.0, None))))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def tfgan_frechet_distance(act1, act2) -> float:
    """tensorflow-gan's ``frechet_classifier_distance_from_activations`` in float64 (reference
    stack only; raises ``ImportError`` where tensorflow-gan does not import)."""
    if tfgan is None:
        raise ImportError("tensorflow-gan does not import here (TensorFlow >= 2.16 or not installed)")
    a1 = tf.constant(np.asarray(act1, dtype=np.float64))
    a2 = tf.constant(np.asarray(act2, dtype=np.float64))
    return float(tfgan.eval.frechet_classifier_distance_from_activations(a1, a2).numpy())


def frechet_distance_from_activations(act1, act2) -> float:
    """The Fréchet distance between two activation sets, in float64.

    ``d² = ||μ1 − μ2||² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)`` with sample means ``μ`` and unbiased
    (``n − 1``) sample covariances ``Σ`` of the rows of ``act1`` ``[N1, D]`` and ``act2`` ``[N2, D]``:
    tensorflow-gan's (two ``D × D`` SVDs) where it imports, else :func:`own_frechet_distance`.
    """
    if tfgan is not None:
        return tfgan_frechet_distance(act1, act2)
    return own_frechet_distance(act1, act2)
