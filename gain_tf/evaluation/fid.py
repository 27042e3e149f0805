"""FID: Inception-v3 loading, pool3 activations, Fréchet distance (docs/design.md, 'Deviations and choices')."""
# FID comes from Inception-v3 pool3 activations (2048-d) of RGB images in [0, 255], resized
# (bilinear) to 299 × 299 and scaled to [-1, 1]; the weights come from a local file
# (:func:`load_inception`), nothing is downloaded. FID is only meaningful with ≥ 2 048 samples per
# set. The D × D form is in :mod:`gain_tf.ops.tfgan_eval` (tensorflow-gan's where it imports).
from __future__ import annotations

import math
import os
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

INCEPTION_SIZE = 299
INCEPTION_DIM = 2048


class InceptionActivations:
    """Inception-v3 pool3 activations: ``images [N, H, W, 3]`` in [0, 255] -> float64 ``[N, 2048]``.

    Images are resized (bilinear, no antialiasing) to 299 × 299, scaled to [-1, 1] (``x/127.5 − 1``)
    and run through ``model`` (``InceptionV3(include_top=False, pooling='avg')``) ``batch_size`` at a
    time. Build one with :func:`load_inception`.
    """

    def __init__(self, model: tf.keras.Model, batch_size: int = 32):
        self.model = model
        self.batch_size = int(batch_size)
        self._forward = tf.function(
            self._forward_impl,
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])

    def _forward_impl(self, images):
        x = tf.image.resize(images, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear", antialias=False)
        x = x / 127.5 - 1.0
        return self.model(x, training=False)

    def __call__(self, images) -> np.ndarray:
        a = np.asarray(images)
        if a.ndim == 3:
            a = a[None]
        if a.ndim != 4 or a.shape[-1] != 3:
            raise ValueError(f"expected RGB images [N, H, W, 3], got shape {a.shape}")
        if a.shape[0] == 0:
            return np.zeros((0, INCEPTION_DIM), np.float64)
        outs = []
        for i in range(0, a.shape[0], self.batch_size):
            batch = tf.constant(a[i:i + self.batch_size].astype(np.float32))
            outs.append(self._forward(batch).numpy().astype(np.float64))
        return np.concatenate(outs, axis=0)


def load_inception(weights_path: Optional[str], batch_size: int = 32) -> Optional[InceptionActivations]:
    """Builds Inception-v3 (no top, average pooling, 299 × 299) from a local Keras weights file.

    Returns ``None`` with a one-line logged warning when ``weights_path`` is empty, missing, or the
    file cannot be loaded (corrupt, wrong architecture; the note names the file): FID is then
    reported as "n/a". Never downloads anything and never raises for a bad file.
    """
    if not weights_path:
        logging.warning("FID skipped: no Inception-v3 weights file given")
        return None
    if not os.path.isfile(weights_path):
        logging.warning("FID skipped: Inception-v3 weights file %s not found", weights_path)
        return None
    if weights_path.lower().endswith((".h5", ".hdf5")):
        import h5py  # a Keras dependency; checking the signature avoids building the net for nothing

        if not h5py.is_hdf5(weights_path):
            logging.warning("FID skipped: could not load Inception-v3 weights from %s (not an HDF5 file)",
                            weights_path)
            return None
    try:
        model = tf.keras.applications.InceptionV3(
            include_top=False, pooling="avg", weights=weights_path,
            input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    except Exception as e:  # corrupt or mismatched file: skip FID, say which file and why
        msg = " ".join(str(e).split())[:200]
        logging.warning("FID skipped: could not load Inception-v3 weights from %s (%s: %s)",
                        weights_path, type(e).__name__, msg)
        return None
    return InceptionActivations(model, batch_size=batch_size)


def _frechet_distance_gram(a1: np.ndarray, a2: np.ndarray) -> float:
    """The same Fréchet distance through the ``N1 × N2`` cross-Gram matrix (exact, cheap for N < D).

    With centred activations ``X1, X2`` and ``Σi = Xiᵀ Xi / (Ni − 1)``, the non-zero eigenvalues of
    ``Σ1 Σ2`` are the squared singular values of ``X1 X2ᵀ / √((N1−1)(N2−1))``, so
    ``Tr (Σ1 Σ2)^½ = ||X1 X2ᵀ||_* / √((N1−1)(N2−1))`` (nuclear norm) and
    ``Tr Σi = ||Xi||²_F / (Ni − 1)``.
    """
    n1, n2 = a1.shape[0], a2.shape[0]
    mu1, mu2 = a1.mean(axis=0), a2.mean(axis=0)
    x1, x2 = a1 - mu1, a2 - mu2
    tr1 = float(np.sum(x1 * x1)) / (n1 - 1)
    tr2 = float(np.sum(x2 * x2)) / (n2 - 1)
    sv = np.linalg.svd(x1 @ x2.T, compute_uv=False)
    tr_sqrt = float(sv.sum()) / math.sqrt((n1 - 1) * (n2 - 1))
    return float(np.sum((mu1 - mu2) ** 2)) + tr1 + tr2 - 2.0 * tr_sqrt


def frechet_distance(act1, act2, method: str = "auto") -> float:
    """Fréchet distance between activation sets ``act1 [N1, D]`` and ``act2 [N2, D]``, float64.

    ``d² = ||μ1 − μ2||² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)``, sample means ``μ``, unbiased (``N − 1``)
    sample covariances ``Σ``.

    ``method``: ``"tfgan"`` is the ``D × D`` form of :mod:`gain_tf.ops.tfgan_eval`:
    ``tfgan.eval.frechet_classifier_distance_from_activations`` where tensorflow-gan imports (two
    ``D × D`` SVDs, ~8 s each for D = 2048 on CPU), the same formula through two symmetric
    eigendecompositions elsewhere (TensorFlow ≥ 2.16, docs/stacks.md); ``"gram"``
    computes the identical quantity exactly through the ``N1 × N2`` cross-Gram matrix (see
    :func:`_frechet_distance_gram`); ``"auto"`` (default) uses the ``D × D`` form when both sets have at
    least ``D`` samples (the only regime where FID is meaningful) and the Gram form otherwise (small
    sets: tests, demos, small buckets). Round-off values a hair below 0 are returned as 0.
    Needs at least 2 samples per set.
    """
    a1 = np.asarray(act1, dtype=np.float64)
    a2 = np.asarray(act2, dtype=np.float64)
    if a1.ndim != 2 or a2.ndim != 2 or a1.shape[1] != a2.shape[1]:
        raise ValueError(f"expected activations [N1, D] and [N2, D], got {a1.shape} and {a2.shape}")
    if a1.shape[0] < 2 or a2.shape[0] < 2:
        raise ValueError(f"need at least 2 samples per set, got {a1.shape[0]} and {a2.shape[0]}")
    if method not in ("auto", "tfgan", "gram"):
        raise ValueError(f"method must be 'auto', 'tfgan' or 'gram', got {method!r}")
    if method == "auto":
        method = "tfgan" if min(a1.shape[0], a2.shape[0]) >= a1.shape[1] else "gram"
    if method == "tfgan":
        from gain_tf.ops import tfgan_eval  # tensorflow-gan (where it imports) stays behind it
        d = tfgan_eval.frechet_distance_from_activations(a1, a2)
    else:
        d = _frechet_distance_gram(a1, a2)
    return max(d, 0.0)
