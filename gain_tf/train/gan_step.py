"""One GAN update of GAIN: the losses of G, D^I and D^S from one generator forward, as a distributed step.

::

    out      = G(I, M)                                          # I*, ∇I* (or the edge map)
    for (D, real, pred, λ_*l1, λ_*adv) in [(D^I, I, I*, 1, 1), (D^S, s∇I, s∇I*, λ_∇l1, λ_∇adv)]:
        fake  = pred ⊙ (1−M) + real ⊙ M                         # composites
        L_D  += hinge(D(real), D(fake)) + λ_gp GP(D, real, fake)
        L_G  += λ_l1 λ_*l1 L1_w(pred, real) − λ_adv λ_*adv E[D(fake)]
    C    = I* ⊙ (1−M) + I ⊙ M
    L_G += λ_E L_E(C, I) + λ_S L_S(C, I)                        # with energy_ / ssim_weight only

``L1_w`` weights hole pixels by ``l1_hole_weight``. The guidance pair (only with a guidance
stream) is seen at scale ``s = guide_scale`` by its L1 and by D^S, and weighted by
``guide_l1_weight`` and ``guide_adv_weight`` (``gain_tf.config.LossConfig``; all 1 in the paper
presets). ``L_E`` (:func:`gain_tf.losses.gradient_energy_loss`) matches the hole's mean gradient
magnitude to the truth's (per image, or over ``energy_window`` windows) and ``L_S``
(:func:`gain_tf.losses.ssim_loss`) is 1 − SSIM; neither is in the paper. Discriminators and
generator are updated simultaneously from that one forward pass (as DeepFill v2 does), each with
its own Adam. Losses are means over the global batch under any ``tf.distribute`` strategy; the
gradient penalty's interpolation weights are drawn for the global batch from ``(seed, step)``, so
a run is the same on one device or many, and after a resume.
"""
from __future__ import annotations

import tensorflow as tf

from gain_tf import losses
from gain_tf.layers.composite import composite


def _scale(opt, loss):
    if isinstance(opt, tf.keras.mixed_precision.LossScaleOptimizer):
        return opt.get_scaled_loss(loss)
    return loss


def _unscale(opt, grads):
    if isinstance(opt, tf.keras.mixed_precision.LossScaleOptimizer):
        return opt.get_unscaled_gradients(grads)
    return grads


class GANStep:
    """The per-replica losses and gradients, and the distributed ``tf.function`` step.

    Args:
      config: the run's :class:`gain_tf.config.GAINConfig` (its ``loss`` and ``data`` sections).
      generator: a :class:`gain_tf.models.GAINGenerator`.
      discriminators: ``(D^I, D^S)``, ``D^S`` None without a guidance stream.
      g_optimizer, d_optimizer: Adam (possibly wrapped in a ``LossScaleOptimizer``).
      strategy: the ``tf.distribute`` strategy the models live in.
      step: the run's step variable (incremented by each call).
      seed: seed of the gradient penalty's interpolation weights.
      jit: XLA-compile the per-replica forward and backward pass.

    Calling it on a distributed batch runs one step and returns the global-mean losses: ``g_total``, ``d_total``,
    ``l1_image``, ``l1_guide`` (at scale ``s``; 0 without guidance), ``adv_image`` and
    ``adv_guide`` (the generator's hinge terms, unweighted), ``d_hinge``, ``gp``, the mean patch
    scores ``d_real_image``, ``d_fake_image``, ``d_real_guide``, ``d_fake_guide``, ``energy`` and
    ``ssim`` (``L_E`` and ``L_S``, unweighted; 0 when off), and ``l1_hole`` (mean absolute image
    error over the hole pixels of the global batch).
    """

    def __init__(self, config, generator, discriminators, g_optimizer, d_optimizer, strategy,
                 step, seed=0, jit=False):
        self.config = config
        self.generator = generator
        self.d_image, self.d_guide = discriminators
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.strategy = strategy
        self.step = step
        self.seed = seed
        self._compute_fn = (tf.function(self.compute, jit_compile=True, autograph=False)
                            if jit else self.compute)
        # autograph=False: the step has no tensor-dependent Python control flow, and converting
        # every layer's call() would triple the tracing time.
        self._step_fn = tf.function(self._distributed_step, autograph=False)

    @property
    def discriminators(self):
        return [d for d in (self.d_image, self.d_guide) if d is not None]

    def d_variables(self):
        return [v for d in self.discriminators for v in d.trainable_variables]

    def _replica_eps(self, local):
        """This replica's slice of the global batch's gradient-penalty weights."""
        gbs = self.config.data.batch_size
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        eps_all = tf.random.stateless_uniform(
            [gbs, 1, 1, 1], seed=tf.stack([tf.cast(self.seed, tf.int64), self.step]))
        return tf.slice(eps_all, tf.stack([tf.cast(replica, tf.int32) * local, 0, 0, 0]),
                        tf.stack([local, 1, 1, 1]))

    def compute(self, batch):
        """Losses and gradients of one replica's batch: ``(d_grads, g_grads, metrics)``."""
        loss = self.config.loss
        gbs = self.config.data.batch_size
        guide = self.generator.guidance
        image, valid = batch["image"], batch["valid"]
        eps = self._replica_eps(tf.shape(image)[0])
        d_vars, g_vars = self.d_variables(), self.generator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            out = self.generator(guide.generator_inputs(batch), training=True)
            pairs = [("image", self.d_image, image, out["image"], 1.0, 1.0)]
            if self.d_guide is not None:
                s = loss.guide_scale
                pairs.append(("guide", self.d_guide, s * guide.target(batch), s * out["gradient"],
                              loss.guide_l1_weight, loss.guide_adv_weight))
            zero = tf.constant(0.0)
            terms = {k: zero for k in ("l1_image", "l1_guide", "adv_image", "adv_guide", "d_hinge",
                                       "gp", "d_real_image", "d_fake_image", "d_real_guide",
                                       "d_fake_guide", "energy", "ssim")}
            g_total = zero
            fakes = {}
            for name, d, real, pred, l1_w, adv_w in pairs:
                fake = fakes[name] = composite(pred, real, valid)
                real_scores = d((real, valid), training=True)
                fake_scores = d((fake, valid), training=True)
                terms["d_hinge"] += losses.hinge_discriminator_loss(real_scores, fake_scores, gbs)
                terms["gp"] += losses.gradient_penalty(d, real, tf.stop_gradient(fake), valid,
                                                       eps, gbs)
                terms[f"l1_{name}"] = losses.l1_loss(pred, real, gbs, valid, loss.l1_hole_weight)
                terms[f"adv_{name}"] = losses.hinge_generator_loss(fake_scores, gbs)
                terms[f"d_real_{name}"] = losses.mean_score(real_scores, gbs)
                terms[f"d_fake_{name}"] = losses.mean_score(fake_scores, gbs)
                g_total += (loss.l1_weight * l1_w * terms[f"l1_{name}"]
                            + loss.adv_weight * adv_w * terms[f"adv_{name}"])
            if loss.energy_weight:      # on the image composite D^I scored
                terms["energy"] = losses.gradient_energy_loss(fakes["image"], image, valid, gbs,
                                                              loss.energy_window)
                g_total += loss.energy_weight * terms["energy"]
            if loss.ssim_weight:
                terms["ssim"] = losses.ssim_loss(fakes["image"], image, gbs)
                g_total += loss.ssim_weight * terms["ssim"]
            d_total = terms["d_hinge"] + loss.gp_weight * terms["gp"]
            d_scaled = _scale(self.d_optimizer, d_total)
            g_scaled = _scale(self.g_optimizer, g_total)
        d_grads = _unscale(self.d_optimizer, d_tape.gradient(d_scaled, d_vars))
        g_grads = _unscale(self.g_optimizer, g_tape.gradient(g_scaled, g_vars))
        hole = 1.0 - valid
        # L1 in the holes over the global batch: numerator and denominator are summed over
        # replicas separately and divided in the cross-replica step.
        metrics = dict(terms, g_total=g_total, d_total=d_total,
                       hole_abs=tf.reduce_sum(tf.abs(out["image"] - image) * hole),
                       hole_count=tf.reduce_sum(hole) * 3.0)
        return d_grads, g_grads, metrics

    def _replica_step(self, batch):
        d_grads, g_grads, metrics = self._compute_fn(batch)
        self.d_optimizer.apply_gradients(zip(d_grads, self.d_variables()))
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        return metrics

    def _distributed_step(self, batch):
        per_replica = self.strategy.run(self._replica_step, args=(batch,))
        metrics = {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                   for k, v in per_replica.items()}
        metrics["l1_hole"] = metrics.pop("hole_abs") / tf.maximum(metrics.pop("hole_count"), 1.0)
        self.step.assign_add(1)
        return metrics

    def __call__(self, batch):
        """One distributed step on a (distributed) batch; returns the global-mean losses."""
        return self._step_fn(batch)
