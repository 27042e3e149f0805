"""Training: a distributed ``tf.function`` GAN step, exact-resume checkpoints, TensorBoard, NaN guard.

One step (GAIN_SPEC.md, "Discriminators and losses", "Training set-up"), one generator forward::

    out      = G(I, M)                                   # I* , ∇I*
    x_fake   = I* ⊙ (1−M) + I ⊙ M ;   s_fake = ∇I* ⊙ (1−M) + ∇I ⊙ M     (composites)
    L_D      = hinge(D^I(I), D^I(x_fake)) + λ_gp GP(D^I) + the same for D^S on (∇I, s_fake)
    L_G      = λ_l1 (L1(I*, I) + L1(∇I*, ∇I)) + λ_adv (−E[D^I(x_fake)] − E[D^S(s_fake)])

(each L1 optionally weighting hole pixels by ``l1_hole_weight``; the learning rate constant or
cosine-decayed over ``config.steps``, ``lr_decay``).

The discriminators and the generator are updated simultaneously from that one forward pass (as
DeepFill v2 does), each with its own Adam. Losses are means over the global batch under any
``tf.distribute`` strategy; the interpolation weights of the gradient penalty are drawn for the
global batch from ``(seed, step)``, so a run is the same on one device or many, and after a resume.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Callable, Dict, Optional

import tensorflow as tf
from absl import logging

from gain_tf import losses
from gain_tf.config import GAINConfig
from gain_tf.images import atomic_write_bytes
from gain_tf.layers.gradient import gradient_magnitude, image_gradient
from gain_tf.masks import composite
from gain_tf.models import GAINGenerator, PatchDiscriminator
from gain_tf.progress import Progress


def training_dataset_fn(config: GAINConfig, source, batch_size: int, masks="free_form", seed: int = 0,
                        deterministic: bool = False, image_size: Optional[int] = None):
    """``input_context -> tf.data.Dataset`` of per-replica training batches for ``config``
    (:func:`gain_tf.data.train_dataset`, plus Canny edge maps for ``guidance='edge'``)."""
    from gain_tf import data, edges

    def fn(ctx):
        ds = data.train_dataset(source, batch_size=batch_size,
                                image_size=image_size or config.image_size, masks=masks,
                                seed=seed, deterministic=deterministic, input_context=ctx)
        if config.guidance == "edge":
            ds = ds.map(lambda b: edges.add_edges(b, config.canny_low, config.canny_high))
        return ds
    return fn


def changed_config_fields(model_dir: str, config: GAINConfig) -> list:
    """Sorted names of the fields of ``config`` that differ from ``model_dir/config.json``; empty
    when they agree or the run has no config.json yet."""
    path = os.path.join(model_dir, "config.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        old = dataclasses.asdict(GAINConfig.from_json(f.read()))
    new = dataclasses.asdict(config)
    return sorted(k for k in new if old.get(k) != new[k])


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or Inf; the message names the step and the loss."""


def make_strategy(name: str = "default") -> tf.distribute.Strategy:
    """``default`` (one device), ``mirrored`` (all local devices; logical CPUs included) or
    ``multiworker`` (MultiWorkerMirroredStrategy, cluster from ``TF_CONFIG``)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"--strategy must be default, mirrored or multiworker, got {name!r}")


@dataclasses.dataclass
class TrainOptions:
    """How to run (as opposed to what to build, which is :class:`GAINConfig`)."""

    model_dir: str
    steps: int = 1000
    batch_size: int = 8            # global batch
    seed: int = 0
    mixed_precision: bool = False
    jit: bool = False
    log_every: int = 10
    image_every: int = 100
    checkpoint_every: int = 100
    keep_checkpoints: int = 3
    progress: bool = True


class Trainer:
    """Builds G, D^I, D^S and two Adam optimisers under a strategy, and trains them.

    Usage::

        trainer = Trainer(config, TrainOptions(model_dir="runs/x", steps=1000), strategy)
        trainer.train(dataset_fn)   # dataset_fn(input_context) -> tf.data.Dataset of dicts

    Batches are dicts with ``image [b,H,W,3]`` in [-1, 1] and ``valid [b,H,W,1]`` (1 = known);
    the ``edge`` variant also needs ``edges`` and ``edges_target`` (:func:`gain_tf.edges.add_edges`).
    ``dataset_fn`` gets a ``tf.distribute.InputContext`` and returns per-replica batches.
    """

    def __init__(self, config: GAINConfig, options: TrainOptions,
                 strategy: Optional[tf.distribute.Strategy] = None):
        self.config = config
        self.options = options
        self.strategy = strategy or tf.distribute.get_strategy()
        if options.mixed_precision:
            tf.keras.mixed_precision.set_global_policy("mixed_float16")
        with self.strategy.scope():
            self.generator = GAINGenerator(config, name="generator")
            self.d_image = PatchDiscriminator(config.disc_channels, config.disc_kernel,
                                              config.disc_leaky_slope, name="d_image")
            self.d_guide = (PatchDiscriminator(config.disc_channels, config.disc_kernel,
                                               config.disc_leaky_slope, name="d_guide")
                            if config.guidance != "none" else None)
            self.g_optimizer = self._adam()
            self.d_optimizer = self._adam()
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self._built = False
        self.checkpoint = tf.train.Checkpoint(
            step=self.step, generator=self.generator, d_image=self.d_image,
            g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
            **({"d_guide": self.d_guide} if self.d_guide is not None else {}))
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(options.model_dir, "checkpoints"),
            max_to_keep=options.keep_checkpoints)
        self._train_step = None

    # ------------------------------------------------------------------ building
    def _adam(self):
        c = self.config
        lr = c.learning_rate
        if c.lr_decay == "cosine":  # a function of the optimiser's own step count: resumes exactly
            lr = tf.keras.optimizers.schedules.CosineDecay(c.learning_rate, max(int(c.steps), 1))
        opt = tf.keras.optimizers.Adam(lr, beta_1=c.beta_1, beta_2=c.beta_2)
        if self.options.mixed_precision:
            opt = tf.keras.mixed_precision.LossScaleOptimizer(opt)
        return opt

    @property
    def discriminators(self):
        return [d for d in (self.d_image, self.d_guide) if d is not None]

    def build(self, height: int, width: int):
        """Creates every variable (models and both optimisers' slots) so checkpoints restore exactly."""
        if self._built:
            return
        m = self.config.multiple
        if height % m or width % m:
            raise ValueError(f"image size {height}x{width} is not a multiple of {m} "
                             f"(config {self.config.name!r})")
        with self.strategy.scope():
            image = tf.zeros((1, height, width, 3))
            valid = tf.ones((1, height, width, 1))
            inputs = self._generator_inputs({"image": image, "valid": valid,
                                             "edges": valid, "edges_target": valid})
            self.generator(inputs)
            for d in self.discriminators:
                d((image if d is self.d_image else tf.zeros((1, height, width,
                                                             self.config.guidance_channels)),
                   valid))
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build([v for d in self.discriminators for v in d.trainable_variables])
        self._built = True

    def _generator_inputs(self, batch):
        if self.config.guidance == "edge":
            return (batch["image"], batch["valid"], batch["edges"])
        return (batch["image"], batch["valid"])

    def _guidance_target(self, batch):
        if self.config.guidance == "edge":
            return batch["edges_target"]
        return image_gradient(batch["image"])

    # ------------------------------------------------------------------ the step
    def _replica_step(self, batch):
        compute = self._compute_jit if self.options.jit else self._compute
        d_grads, g_grads, metrics = compute(batch)
        self.d_optimizer.apply_gradients(zip(d_grads, self._d_vars()))
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        return metrics

    def _d_vars(self):
        return [v for d in self.discriminators for v in d.trainable_variables]

    def _compute(self, batch):
        """Losses and gradients of one replica's batch (XLA-compiled with ``--jit``)."""
        c = self.config
        gbs = self.options.batch_size
        image, valid = batch["image"], batch["valid"]
        local = tf.shape(image)[0]
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        eps_all = tf.random.stateless_uniform(
            [gbs, 1, 1, 1], seed=tf.stack([tf.cast(self.options.seed, tf.int64), self.step]))
        eps = tf.slice(eps_all, tf.stack([tf.cast(replica, tf.int32) * local, 0, 0, 0]),
                       tf.stack([local, 1, 1, 1]))
        d_vars = self._d_vars()
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            out = self.generator(self._generator_inputs(batch), training=True)
            fake = composite(out["image"], image, valid)
            real_scores = self.d_image((image, valid), training=True)
            fake_scores = self.d_image((fake, valid), training=True)
            d_loss = losses.hinge_discriminator_loss(real_scores, fake_scores, gbs)
            gp = losses.gradient_penalty(self.d_image, image, tf.stop_gradient(fake), valid, eps, gbs)
            l1_image = losses.l1_loss(out["image"], image, gbs, valid, c.l1_hole_weight)
            adv = losses.hinge_generator_loss(fake_scores, gbs)
            l1_guide = tf.constant(0.0)
            if self.d_guide is not None:
                target = self._guidance_target(batch)
                fake_g = composite(out["gradient"], target, valid)
                real_g_scores = self.d_guide((target, valid), training=True)
                fake_g_scores = self.d_guide((fake_g, valid), training=True)
                d_loss += losses.hinge_discriminator_loss(real_g_scores, fake_g_scores, gbs)
                gp += losses.gradient_penalty(self.d_guide, target, tf.stop_gradient(fake_g),
                                              valid, eps, gbs)
                l1_guide = losses.l1_loss(out["gradient"], target, gbs, valid, c.l1_hole_weight)
                adv += losses.hinge_generator_loss(fake_g_scores, gbs)
            d_total = d_loss + c.gp_weight * gp
            g_total = c.l1_weight * (l1_image + l1_guide) + c.adv_weight * adv
            d_scaled = self._scale(self.d_optimizer, d_total)
            g_scaled = self._scale(self.g_optimizer, g_total)
        d_grads = self._unscale(self.d_optimizer, d_tape.gradient(d_scaled, d_vars))
        g_grads = self._unscale(self.g_optimizer, g_tape.gradient(g_scaled, g_vars))
        hole = 1.0 - valid
        # L1 in the holes over the global batch: numerator and denominator are summed over
        # replicas separately and divided in the cross-replica step.
        hole_abs = tf.reduce_sum(tf.abs(out["image"] - image) * hole)
        hole_count = tf.reduce_sum(hole) * 3.0
        metrics = {"g_total": g_total, "d_total": d_total, "l1_image": l1_image,
                   "l1_guide": l1_guide, "adv": adv, "d_hinge": d_loss, "gp": gp, "hole_abs": hole_abs, "hole_count": hole_count}
        return d_grads, g_grads, metrics

    @staticmethod
    def _scale(opt, loss):
        if isinstance(opt, tf.keras.mixed_precision.LossScaleOptimizer):
            return opt.get_scaled_loss(loss)
        return loss

    @staticmethod
    def _unscale(opt, grads):
        if isinstance(opt, tf.keras.mixed_precision.LossScaleOptimizer):
            return opt.get_unscaled_gradients(grads)
        return grads

    def _make_train_step(self):
        strategy = self.strategy

        def step_fn(batch):
            per_replica = strategy.run(self._replica_step, args=(batch,))
            metrics = {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                       for k, v in per_replica.items()}
            metrics["l1_hole"] = metrics.pop("hole_abs") / tf.maximum(metrics.pop("hole_count"), 1.0)
            self.step.assign_add(1)
            return metrics

        # autograph=False: the step has no tensor-dependent Python control flow, and converting
        # every layer's call() would triple the tracing time.
        if self.options.jit:
            self._compute_jit = tf.function(self._compute, jit_compile=True, autograph=False)
        return tf.function(step_fn, autograph=False)

    def train_step(self, batch):
        """One distributed step on a (distributed) batch; returns the global-mean losses."""
        if self._train_step is None:
            self._train_step = self._make_train_step()
        return self._train_step(batch)

    # ------------------------------------------------------------------ the loop
    def restore(self) -> int:
        """Restores the latest checkpoint if there is one; returns the step to continue from.

        Raises ``ValueError`` naming ``model_dir`` and the config fields that differ when the
        checkpoint does not fit this run's models and optimisers.
        """
        latest = self.manager.latest_checkpoint
        if latest:
            try:
                self.checkpoint.restore(latest).assert_existing_objects_matched()
            except AssertionError as e:
                changed = ", ".join(self.changed_config_fields()) or "none recorded"
                raise ValueError(
                    f"{self.options.model_dir}: checkpoint {latest} does not match this run's "
                    f"config (fields differing from its config.json: {changed}); use another "
                    f"--model_dir or the run's own config") from e
            logging.info("resumed from %s at step %d", latest, int(self.step.numpy()))
        return int(self.step.numpy())

    def changed_config_fields(self) -> list:
        """Fields of this run's config that differ from ``model_dir/config.json`` (if any)."""
        return changed_config_fields(self.options.model_dir, self.config)

    def _write_config(self):
        path = os.path.join(self.options.model_dir, "config.json")
        if os.path.exists(path):
            changed = self.changed_config_fields()
            if changed:
                logging.warning("%s differs from this run's config in %s; the checkpoint may not "
                                "match", path, ", ".join(changed))
            return
        atomic_write_bytes(path, self.config.to_json().encode())

    def train(self, dataset_fn: Callable, steps: Optional[int] = None,
              image_size: Optional[int] = None) -> Dict[str, float]:
        """Trains to ``steps`` (default ``options.steps``), resuming from the latest checkpoint.

        ``dataset_fn(input_context)`` returns the per-replica dataset. On resume, the first
        ``step`` batches are skipped, so a deterministic pipeline continues exactly where it was.
        Returns the last step's losses. Raises :class:`TrainingDivergedError` on a NaN/Inf loss,
        without writing a checkpoint of the diverged weights.
        """
        opts = self.options
        steps = opts.steps if steps is None else steps
        size = image_size or self.config.image_size
        os.makedirs(opts.model_dir, exist_ok=True)
        self._write_config()
        self.build(size, size)
        start = self.restore()
        if start >= steps:
            logging.info("already at step %d >= %d: nothing to do", start, steps)
            return {}

        def skipping_fn(ctx):
            return dataset_fn(ctx).skip(start)

        dist = self.strategy.distribute_datasets_from_function(skipping_fn)
        writer = tf.summary.create_file_writer(os.path.join(opts.model_dir, "train"))
        progress = Progress(steps - start, desc="train") if opts.progress else None
        metrics = {}
        vis_batch = None
        it = iter(dist)
        t0 = time.perf_counter()
        for step in range(start + 1, steps + 1):
            try:
                batch = next(it)
            except StopIteration:
                raise ValueError("the training dataset ran out; pass a repeating dataset") from None
            if vis_batch is None:
                vis_batch = self._first_local(batch)
            values = self.train_step(batch)
            metrics = {k: float(v) for k, v in values.items()}
            bad = [k for k, v in metrics.items() if not math.isfinite(v)]
            if bad:
                writer.flush()
                last = self.manager.latest_checkpoint or "none yet"
                raise TrainingDivergedError(
                    f"step {step}: loss {bad[0]} is {metrics[bad[0]]} (also: {', '.join(bad[1:]) or '-'}); "
                    f"stopped without saving; last good checkpoint: {last}")
            if step % opts.log_every == 0 or step == steps:
                with writer.as_default(step=step):
                    for k, v in metrics.items():
                        tf.summary.scalar(f"loss/{k}", v)
                    tf.summary.scalar("speed/steps_per_sec",
                                      (step - start) / max(time.perf_counter() - t0, 1e-9))
            if step % opts.image_every == 0 or step == steps:
                with writer.as_default(step=step):
                    self.write_images(vis_batch)
            if step % opts.checkpoint_every == 0 or step == steps:
                self.manager.save(checkpoint_number=step)
            if progress is not None:
                progress.update(1, g=f"{metrics['g_total']:.3f}", d=f"{metrics['d_total']:.3f}",
                                l1_hole=f"{metrics['l1_hole']:.3f}")
        if progress is not None:
            progress.close()
        writer.flush()
        return metrics

    def _first_local(self, batch):
        """The first replica's part of a distributed batch, as plain tensors (for pictures)."""
        return tf.nest.map_structure(
            lambda t: self.strategy.experimental_local_results(t)[0], batch)

    def write_images(self, batch, max_outputs: int = 4):
        """TensorBoard image grid: masked input | output | composite | ground truth, gradient
        magnitudes (target | output), and the per-block masks of the first example."""
        out = self.generator(self._generator_inputs(batch), return_masks=True)
        image, valid = batch["image"][:max_outputs], batch["valid"][:max_outputs]
        masked = image * valid + (1.0 - valid)  # holes white
        row = tf.concat([masked, out["image"][:max_outputs], out["composite"][:max_outputs], image], 2)
        tf.summary.image("inpainting/masked|output|composite|truth", (row + 1.0) / 2.0, max_outputs)
        if "gradient" in out:
            target = self._guidance_target(batch)[:max_outputs]
            pred = out["gradient"][:max_outputs]
            if pred.shape[-1] == 2:
                target, pred = gradient_magnitude(target), gradient_magnitude(pred)
            mags = tf.concat([target, pred], 2)
            mags = mags / tf.maximum(tf.reduce_max(mags, axis=[1, 2, 3], keepdims=True), 1e-6)
            tf.summary.image("guidance/target|output", mags, max_outputs)
        h, w = image.shape[1], image.shape[2]
        masks = [tf.image.resize(m[:1], (h, w), method="nearest") for _, m in out["masks"]]
        tf.summary.image("masks/per_block", tf.concat(masks[:16], 2), 1)
