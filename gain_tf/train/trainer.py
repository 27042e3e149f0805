"""The training loop: models and optimisers under a strategy, exact-resume checkpoints, NaN guard, progress.

Usage::

    trainer = Trainer(config, TrainOptions(model_dir="runs/x"), strategy)
    trainer.train(training_dataset_fn(config, "records/train"))   # to config.optim.steps

Under ``MultiWorkerMirroredStrategy`` only the chief writes the run folder (docs/scale.md, "Several
machines"). A run killed at any point resumes exactly: the chief first removes what a killed save
left (:meth:`gain_tf.run_dir.RunDir.remove_partial_checkpoints`).

What one step computes is :class:`gain_tf.train.gan_step.GANStep`; what TensorBoard shows is
:mod:`gain_tf.train.summaries`; the run folder's layout is :class:`gain_tf.run_dir.RunDir`; the
strategy and the chief are :mod:`gain_tf.train.strategy`.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import os
import shutil
import tempfile
import time
from typing import Callable, Dict, Optional

import tensorflow as tf
from absl import logging

from gain_tf import faults
from gain_tf.config import GAINConfig
from gain_tf.models import GAINGenerator, build_discriminators
from gain_tf.progress import Progress
from gain_tf.run_dir import RunDir
from gain_tf.train.gan_step import GANStep
from gain_tf.train.strategy import worker_role
from gain_tf.train import summaries


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or Inf; the message names the step and the loss."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during training: ``step`` is the last step done, ``checkpoint`` the run's
    latest checkpoint after the interrupt (None: none yet, or not kept by this worker) and
    ``checkpoint_step`` its step. A single process saves the steps done on the way out, so the
    two steps agree; a worker of a cluster cannot save alone, so steps after the last periodic
    checkpoint are lost."""

    def __init__(self, step: int, checkpoint: Optional[str]):
        super().__init__(step, checkpoint)
        self.step, self.checkpoint = step, checkpoint
        self.checkpoint_step = int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else None


def _resume_at(dataset: tf.data.Dataset, step: int) -> tf.data.Dataset:
    """``dataset`` without the ``step`` batches a run resumed at ``step`` has already seen.

    Skipping decodes every skipped batch (minutes, late in a long run), and only pays off for a
    deterministic pipeline. A dataset whose options say ``deterministic=False`` (the training
    pipeline of :func:`gain_tf.data.train_dataset` without ``--deterministic``, which draws a
    fresh seed in every process) is returned as it is.
    """
    if step and dataset.options().deterministic is False:
        return dataset
    return dataset.skip(step)


@dataclasses.dataclass
class TrainOptions:
    """How to run (what to build and for how many steps is the :class:`GAINConfig`)."""

    model_dir: str
    seed: int = 0
    mixed_precision: bool = False
    jit: bool = False
    log_every: int = 10
    image_every: int = 100
    checkpoint_every: int = 100
    keep_checkpoints: int = 3
    progress: bool = True
    allow_config_change: bool = False   # resume a run whose config.json differs (rewrites it)
    init_from: Optional[str] = None     # a new run starts from this run's weights (warm_start.py)


class Trainer:
    """Builds G, D^I, D^S and two Adam optimisers under a strategy, and trains them.

    Batches are dicts with ``image [b,H,W,3]`` in [-1, 1] and ``valid [b,H,W,1]`` (1 = known),
    plus what the guidance adds (:meth:`gain_tf.guidance.Guidance.add_to_batch`); ``dataset_fn``
    gets a ``tf.distribute.InputContext`` and returns per-replica batches of the global batch
    ``config.data.batch_size``.
    """

    def __init__(self, config: GAINConfig, options: TrainOptions,
                 strategy: Optional[tf.distribute.Strategy] = None):
        self.config = config
        self.options = options
        self.run_dir = RunDir(options.model_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        # A layer takes the global dtype policy when it is made: mixed_float16 is set for the
        # models only and the caller's policy restored (masks and the priority stay float32).
        previous = tf.keras.mixed_precision.global_policy()
        if options.mixed_precision:
            tf.keras.mixed_precision.set_global_policy("mixed_float16")
        try:
            with self.strategy.scope():
                self.generator = GAINGenerator(config, name="generator")
                self.d_image, self.d_guide = build_discriminators(config)
                self.g_optimizer = self._adam()
                self.d_optimizer = self._adam()
                self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        finally:
            tf.keras.mixed_precision.set_global_policy(previous)
        self._built = False
        self.is_chief, self.task = worker_role(self.strategy)
        self.checkpoint = tf.train.Checkpoint(
            step=self.step, generator=self.generator, g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer, **self.discriminator_slots())
        # Only the chief writes the run folder; the other workers of a cluster save (all must take
        # part in a save) into a scratch folder of their own that train() creates and removes.
        self.manager = (self._manager(self.run_dir.checkpoint_dir) if self.is_chief else None)
        self.gan_step = GANStep(config, self.generator, (self.d_image, self.d_guide),
                                self.g_optimizer, self.d_optimizer, self.strategy, self.step,
                                options.seed, options.jit)

    def _manager(self, folder: str) -> tf.train.CheckpointManager:
        return tf.train.CheckpointManager(self.checkpoint, folder,
                                          max_to_keep=self.options.keep_checkpoints)

    def _adam(self):
        o = self.config.optim
        lr = o.learning_rate
        if o.lr_decay == "cosine":  # a function of the optimiser's own step count: resumes exactly
            lr = tf.keras.optimizers.schedules.CosineDecay(o.learning_rate, o.steps)
        opt = tf.keras.optimizers.Adam(lr, beta_1=o.beta_1, beta_2=o.beta_2,
                                       global_clipnorm=o.clip_norm or None)  # after the all-reduce
        if self.options.mixed_precision:
            opt = tf.keras.mixed_precision.LossScaleOptimizer(opt)
        return opt

    @property
    def discriminators(self):
        return self.gan_step.discriminators

    def discriminator_slots(self) -> dict:
        """The discriminators under their checkpoint names (``d_guide`` only when there is one)."""
        slots = {"d_image": self.d_image}
        if self.d_guide is not None:
            slots["d_guide"] = self.d_guide
        return slots

    def build(self, height: int, width: int):
        """Creates every variable (models and both optimisers' slots) so checkpoints restore exactly."""
        if self._built:
            return
        m = self.config.model.multiple
        if height % m or width % m:
            raise ValueError(f"image size {height}x{width} is not a multiple of {m} "
                             f"(config {self.config.name!r})")
        with self.strategy.scope():
            inputs = self.generator.example_inputs(height, width)
            out = self.generator(inputs)
            self.d_image(inputs[:2])
            if self.d_guide is not None:
                self.d_guide((out["gradient"], inputs[1]))
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.gan_step.d_variables())
        self._built = True

    def train_step(self, batch):
        """One distributed step on a (distributed) batch; returns the global-mean losses."""
        return self.gan_step(batch)

    # ------------------------------------------------------------------ checkpoints
    def restore(self) -> int:
        """Restores the latest checkpoint if there is one; returns the step to continue from.

        Raises ``ValueError`` naming ``model_dir`` and the config fields that differ when the
        checkpoint does not fit this run's models and optimisers.
        """
        latest = self.restore_point()
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

    def restore_point(self) -> Optional[str]:
        """The latest checkpoint of the run folder, or None."""
        return (tf.train.latest_checkpoint(self.run_dir.checkpoint_dir)
                if os.path.isdir(self.run_dir.checkpoint_dir) else None)

    def changed_config_fields(self) -> list:
        """Fields of this run's config that differ from ``model_dir/config.json`` (if any)."""
        return self.run_dir.changed_fields(self.config)

    def _check_config(self) -> list:
        """The fields in which this run's config differs from its config.json; a run of other
        settings is refused, naming them, unless ``allow_config_change`` or the run has no
        checkpoint yet (a start that failed, e.g. on a mistyped ``--data``)."""
        changed = self.changed_config_fields()
        if changed and not self.options.allow_config_change and self.restore_point() is not None:
            raise ValueError(
                f"{self.options.model_dir}: this run's config.json differs in {', '.join(changed)}; "
                "use another --model_dir, the run's own settings, or --allow_config_change")
        return changed

    # ------------------------------------------------------------------ the loop
    def train(self, dataset_fn: Callable, steps: Optional[int] = None) -> Dict[str, float]:
        """Trains to ``steps`` (default and at most ``config.optim.steps``, where the schedule
        ends; a smaller ``steps`` stops early), resuming from the latest checkpoint. Reaching
        ``config.optim.steps`` writes the run's ``done.json`` (:meth:`RunDir.plan` reuses it).

        On resume, the first ``step`` batches are skipped, so a deterministic pipeline continues
        exactly where it was (not when the dataset says it is non-deterministic: see
        :func:`_resume_at`). Returns the last step's losses. Raises
        :class:`TrainingDivergedError` on a NaN/Inf loss, without writing a checkpoint of the
        diverged weights.
        """
        opts = self.options
        if steps is not None and steps > self.config.optim.steps:
            raise ValueError(f"steps={steps} is beyond the config's steps="
                             f"{self.config.optim.steps}, where its schedule ends; raise --steps")
        steps = self.config.optim.steps if steps is None else steps
        size = self.config.data.image_size
        if self.is_chief:
            os.makedirs(opts.model_dir, exist_ok=True)
            changed = self._check_config()
            removed = self.run_dir.remove_partial_checkpoints()
            if removed:
                logging.warning("%s: removed what an interrupted save left: %s",
                                self.run_dir.checkpoint_dir, ", ".join(removed))
        self.build(size, size)
        start = self.restore()   # before config.json changes: a refused resume leaves it as it was
        if opts.init_from and start == 0:
            from gain_tf.train.warm_start import warm_start
            source = warm_start(self, opts.init_from)
            if self.is_chief:
                self.run_dir.record_init_from(opts.init_from, source)
        elif opts.init_from:
            logging.warning("%s resumes at step %d: init_from=%s is not read",
                            opts.model_dir, start, opts.init_from)
        if self.is_chief:
            if changed:
                logging.warning("%s: config changed in %s; rewriting it",
                                self.run_dir.config_path, ", ".join(changed))
            self.run_dir.write_config(self.config, overwrite=bool(changed))
        done = steps == self.config.optim.steps   # the schedule's end: the run is finished
        if start >= steps:
            logging.info("already at step %d >= %d: nothing to do", start, steps)
            if done and self.is_chief and not self.run_dir.is_done():
                self.run_dir.mark_done({"steps": start})
            return {}
        if self.is_chief:
            self.run_dir.clear_done()   # e.g. its steps were raised (--allow_config_change)
        scratch = None
        if not self.is_chief:
            scratch = tempfile.mkdtemp(prefix=f"gain-tf-{self.task.replace(':', '')}-")
            self.manager = self._manager(scratch)
            logging.info("%s is not the chief: its checkpoints go to %s (removed at the end); no "
                         "TensorBoard logs or config.json", self.task, scratch)
        try:
            metrics = self._loop(dataset_fn, start, steps)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        if done and self.is_chief:
            self.run_dir.mark_done({"steps": steps, "last": metrics})
        return metrics

    def _loop(self, dataset_fn: Callable, start: int, steps: int) -> Dict[str, float]:
        opts = self.options
        dist = self.strategy.distribute_datasets_from_function(
            lambda ctx: _resume_at(dataset_fn(ctx), start))
        writer = (tf.summary.create_file_writer(self.run_dir.log_dir) if self.is_chief
                  else tf.summary.create_noop_writer())
        progress = Progress(steps, desc="train", initial=start) if opts.progress else None
        it = iter(dist)
        t0 = time.perf_counter()
        try:
            return self._steps(it, start, steps, writer, progress, t0)
        except KeyboardInterrupt:
            if progress is not None:
                progress.close()
            writer.flush()
            raise self._interrupted(start) from None

    def _interrupted(self, start: int) -> "TrainingInterrupted":
        """Saves the steps done since the last checkpoint (a single process only: a cluster's
        save needs every worker) and says where the run stands."""
        step = int(self.step.numpy())
        if not self.is_chief:               # its checkpoints are in a scratch folder
            return TrainingInterrupted(step, None)
        latest = self.manager.latest_checkpoint
        if self.task is None and step > start and not (latest or "").endswith(f"-{step}"):
            latest = self.manager.save(checkpoint_number=step)
        return TrainingInterrupted(step, latest)

    def _steps(self, it, start, steps, writer, progress, t0) -> Dict[str, float]:
        opts = self.options
        metrics, vis_batch = {}, None
        for step in range(start + 1, steps + 1):
            try:
                batch = next(it)
            except StopIteration:
                raise ValueError("the training dataset ran out; pass a repeating dataset") from None
            if vis_batch is None:
                vis_batch = self._first_local(batch)
            metrics = {k: float(v) for k, v in self.train_step(batch).items()}
            bad = [k for k, v in metrics.items() if not math.isfinite(v)]
            if bad:
                writer.flush()
                last = self.manager.latest_checkpoint or "none yet"
                raise TrainingDivergedError(
                    f"step {step}: loss {bad[0]} is {metrics[bad[0]]} (also: "
                    f"{', '.join(bad[1:]) or '-'}); stopped without saving; last good "
                    f"checkpoint: {last}")
            if step % opts.log_every == 0 or step == steps:
                with writer.as_default(step=step):
                    summaries.write_scalars(metrics, (step - start) / max(time.perf_counter() - t0,
                                                                          1e-9))
            if self.is_chief and (step % opts.image_every == 0 or step == steps):
                with writer.as_default(step=step):
                    summaries.write_images(self.generator, vis_batch)
            if step % opts.checkpoint_every == 0 or step == steps:
                hold = functools.partial(faults.hold, "save", step)  # no-op unless testing
                self.manager.save(checkpoint_number=step, options=tf.train.CheckpointOptions(
                    experimental_write_callbacks=[hold]))
            faults.hold("step", step)
            if progress is not None:
                progress.update(1, g=f"{metrics['g_total']:.3f}", d=f"{metrics['d_total']:.3f}",
                                l1_hole=f"{metrics['l1_hole']:.3f}")
        if progress is not None:
            progress.close()
        writer.flush()
        return metrics

    def weights_digest(self) -> str:
        """``sha256:<16 hex>`` of every model weight in order (G, D^I, D^S): the workers of a
        cluster print the same one when they stayed in sync."""
        h = hashlib.sha256()
        for model in (self.generator, self.d_image, self.d_guide):
            for v in (model.weights if model is not None else []):
                h.update(v.numpy().tobytes())
        return "sha256:" + h.hexdigest()[:16]

    def _first_local(self, batch):
        """The first replica's part of a distributed batch, as plain tensors (for pictures)."""
        return tf.nest.map_structure(
            lambda t: self.strategy.experimental_local_results(t)[0], batch)
