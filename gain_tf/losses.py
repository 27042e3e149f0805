"""GAIN's losses, each a small pure function with its formula (docs/design.md, "Deviations and choices").

The hinge losses come from tensorflow-gan where it imports (the reference stack); where it is not
installed or fails to import (TensorFlow ≥ 2.16, which has no ``tf.estimator``) they are this
module's own two-line functions of the same formulas, shown equal to tensorflow-gan's in
tests/test_losses.py. tensorflow-gan is imported here and in :mod:`gain_tf.ops.tfgan_eval` (the
Fréchet distance), nowhere else; :data:`HINGE_IMPLEMENTATION` says which is in use.

Every loss is a mean over the *global* batch when called inside ``strategy.run`` with
``global_batch_size``: each replica returns its share and the gradients sum to the global mean.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf.ops import optional_import

tfgan = optional_import("tensorflow_gan")

#: ``"tensorflow_gan"`` (reference stack) or ``"own"`` (where tensorflow-gan does not import).
HINGE_IMPLEMENTATION = "tensorflow_gan" if tfgan is not None else "own"


def _per_replica_share(value, global_batch_size, local_batch_size):
    """``value`` is a mean over the local batch: rescale it to a share of the global mean."""
    if global_batch_size is None:
        return value
    return value * tf.cast(local_batch_size, value.dtype) / tf.cast(global_batch_size, value.dtype)


def l1_loss(prediction, target, global_batch_size=None, valid=None, hole_weight=1.0):
    """``L1 = mean(w ⊙ |prediction − target|)`` over all pixels and channels (image or guidance map).

    ``w = M + hole_weight·(1 − M)`` with ``valid`` M ``[B,H,W,1]`` (1 = known): the known part and
    ``hole_weight`` times the hole part of the mean, as Liu et al.'s ``L_valid + 6·L_hole``.
    Without ``valid`` (or with ``hole_weight`` 1) it is the plain mean.
    """
    err = tf.abs(tf.cast(prediction, tf.float32) - tf.cast(target, tf.float32))
    if valid is not None and hole_weight != 1.0:
        m = tf.cast(valid, tf.float32)
        err = err * (m + float(hole_weight) * (1.0 - m))
    value = tf.reduce_mean(err)
    return _per_replica_share(value, global_batch_size, tf.shape(prediction)[0])


def gradient_energy_loss(composite, target, valid, global_batch_size=None, window=0, eps=1e-8):
    """``L_E = mean_b |ē(C_b) − ē(I_b)|``, ``ē(x) = Σ_hole ‖∇x‖ / Σ_hole 1``: the hole's mean
    gradient magnitude (grayscale Sobel/8, :func:`gain_tf.layers.gradient.image_gradient`) of the
    composite against the truth's, per image. With ``window`` k > 0 the match is local:
    ``mean_b Σ_hole |box_k‖∇C‖ − box_k‖∇I‖| / Σ_hole 1``, with ``box_k`` the k×k mean (over the
    positions inside the image) centred on each hole pixel (k odd).

    A statistic to match, not a pixel target: it asks for as much structure in the hole (or in each
    k×k window) as the truth has and leaves its placement to the other terms. ``composite`` and
    ``target``: RGB ``[B,H,W,3]``; ``valid`` ``[B,H,W,1]`` (1 = known); images without a hole add 0.
    ``‖∇‖`` is computed as ``sqrt(‖∇‖² + eps) − sqrt(eps)``: exact at 0, with a finite derivative
    there. Not in the paper (docs/photo_model.md, section 10).
    """
    from gain_tf.layers.gradient import image_gradient

    def magnitude(x):
        g = image_gradient(tf.cast(x, tf.float32))
        norm = tf.sqrt(tf.reduce_sum(tf.square(g), axis=-1, keepdims=True) + eps) - eps ** 0.5
        return tf.nn.avg_pool2d(norm, window, 1, "SAME") if window else norm

    hole = 1.0 - tf.cast(valid, tf.float32)
    count = tf.maximum(tf.reduce_sum(hole, axis=[1, 2, 3]), 1.0)
    c, t = magnitude(composite), tf.stop_gradient(magnitude(target))
    if window:
        per_image = tf.reduce_sum(tf.abs(c - t) * hole, axis=[1, 2, 3]) / count
    else:
        per_image = tf.abs(tf.reduce_sum((c - t) * hole, axis=[1, 2, 3]) / count)
    return _per_replica_share(tf.reduce_mean(per_image), global_batch_size, tf.shape(composite)[0])


def ssim_loss(composite, target, global_batch_size=None):
    """``L_S = mean_b (1 − SSIM(C_b, I_b))``: the scored SSIM (:func:`gain_tf.evaluation.scores.ssim`:
    11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, mean over channels and positions) as a loss, as
    Zhao et al. (2017) train restoration networks. Images in [-1, 1] are mapped to [0, 1] first
    (``tf.image.ssim`` with L = 1): SSIM's luminance term is not shift-invariant. Not in the paper
    (docs/photo_model.md, section 10)."""
    c, t = [(tf.cast(x, tf.float32) + 1.0) / 2.0 for x in (composite, target)]
    value = tf.reduce_mean(1.0 - tf.image.ssim(c, t, max_val=1.0))
    return _per_replica_share(value, global_batch_size, tf.shape(composite)[0])


def own_hinge_discriminator_loss(real_scores, fake_scores):
    """``E[relu(1 − D(real))] + E[relu(1 + D(fake))]``, each mean over all scores, in float32."""
    real = tf.cast(real_scores, tf.float32)
    fake = tf.cast(fake_scores, tf.float32)
    return tf.reduce_mean(tf.nn.relu(1.0 - real)) + tf.reduce_mean(tf.nn.relu(1.0 + fake))


def own_hinge_generator_loss(fake_scores):
    """``−E[D(fake)]``, the mean over all scores, in float32."""
    return -tf.reduce_mean(tf.cast(fake_scores, tf.float32))


def hinge_discriminator_loss(real_scores, fake_scores, global_batch_size=None):
    """``L_D = E[relu(1 − D(real))] + E[relu(1 + D(fake))]`` (tensorflow-gan's hinge loss where it
    imports, else :func:`own_hinge_discriminator_loss`)."""
    if tfgan is not None:
        value = tfgan.losses.wargs.wasserstein_hinge_discriminator_loss(
            real_scores, fake_scores, reduction=tf.compat.v1.losses.Reduction.MEAN,
            loss_collection=None)
    else:
        value = own_hinge_discriminator_loss(real_scores, fake_scores)
    return _per_replica_share(value, global_batch_size, tf.shape(real_scores)[0])


def hinge_generator_loss(fake_scores, global_batch_size=None):
    """``L_G^adv = −E[D(fake)]`` (tensorflow-gan's hinge generator loss where it imports, else
    :func:`own_hinge_generator_loss`)."""
    if tfgan is not None:
        value = tfgan.losses.wargs.wasserstein_hinge_generator_loss(
            fake_scores, reduction=tf.compat.v1.losses.Reduction.MEAN, loss_collection=None)
    else:
        value = own_hinge_generator_loss(fake_scores)
    return _per_replica_share(value, global_batch_size, tf.shape(fake_scores)[0])


def mean_score(scores, global_batch_size=None):
    """``E[D(x)]``, the mean patch score of a batch (a diagnostic, not a loss)."""
    value = tf.reduce_mean(tf.cast(scores, tf.float32))
    return _per_replica_share(value, global_batch_size, tf.shape(scores)[0])


def gradient_penalty(discriminator, real, fake, valid, epsilon, global_batch_size=None):
    """WGAN-GP: ``E[(‖∇_x̂ D(x̂, M)‖₂ − 1)²]`` at ``x̂ = ε·real + (1 − ε)·fake``, ε ~ U[0, 1] per sample.

    ``epsilon`` ``[B,1,1,1]`` is passed in, so the function stays pure and reproducible.
    The norm is over all of a sample's pixels and channels, of the sum of its patch scores.
    """
    interp = tf.convert_to_tensor(epsilon * real + (1.0 - epsilon) * fake)
    with tf.GradientTape() as tape:
        tape.watch(interp)
        total = tf.reduce_sum(discriminator((interp, valid), training=True))
    grads = tape.gradient(total, interp)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
    value = tf.reduce_mean(tf.square(norm - 1.0))
    return _per_replica_share(value, global_batch_size, tf.shape(real)[0])

