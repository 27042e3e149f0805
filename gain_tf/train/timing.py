"""How fast the training step runs on this machine: a timed warm-up on the real pipeline."""
from __future__ import annotations

import tempfile
import time

import tensorflow as tf

from gain_tf.data import training_dataset_fn
from gain_tf.train.trainer import Trainer, TrainOptions


def time_train_step(config, source, seed: int = 0, seconds: float = 8.0) -> tuple:
    """``(steps_per_s, trace_s)`` of ``config``'s training step on ``source``: the rate after the
    first step (the tracing, timed apart) over about ``seconds`` (at least 5 steps), with a
    throwaway model (nothing is written)."""
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, TrainOptions(model_dir=tmp, seed=seed, progress=False))
        trainer.build(config.data.image_size, config.data.image_size)
        batches = iter(training_dataset_fn(config, source, seed=seed)(tf.distribute.InputContext()))
        t0 = time.perf_counter()
        float(trainer.train_step(next(batches))["g_total"])
        t1 = time.perf_counter()
        n = 0
        while n < 5 or time.perf_counter() - t1 < seconds:
            float(trainer.train_step(next(batches))["g_total"])
            n += 1
        return n / (time.perf_counter() - t1), t1 - t0
