"""How fast the training step runs on this machine (a timed warm-up on the real pipeline), and how
many steps fit in the time left (`make demo`'s deadline)."""
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


# After training, the demo exports, evaluates and draws: about 40 s on a machine where the demo
# trains at 6.2 steps/s, and proportionally longer on a slower one (measured; used as a reserve).
_AFTER_TRAINING_S, _REFERENCE_STEPS_PER_S = 40.0, 6.2


def fit_steps(rate, trace_s, left_s, train_minutes) -> tuple:
    """``(steps, line)``: the step count that ends training within ``train_minutes`` and before
    ``left_s`` seconds from now less a reserve for export and evaluation (larger on a slower
    machine), for a step rate ``rate`` after ``trace_s`` of tracing (:func:`time_train_step`);
    ``line`` says so. At least 50 steps."""
    reserve = _AFTER_TRAINING_S * max(1.0, _REFERENCE_STEPS_PER_S / rate)
    budget = min(train_minutes * 60.0, left_s - reserve)
    steps = max(50, int(0.9 * (budget - trace_s) * rate))  # 10 %: checkpoints, summaries, load
    return steps, (f"timed warm-up: {rate:.1f} steps/s after {trace_s:.0f} s of tracing -> "
                   f"{steps} steps (about {(trace_s + steps / rate) / 60:.1f} min, the cosine "
                   f"schedule over them) to end within the {left_s / 60:.0f} min left, "
                   f"{reserve:.0f} s kept for export and evaluation")
