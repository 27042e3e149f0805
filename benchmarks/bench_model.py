"""Train-step throughput of the `small` config at 128×128, batch 4, against plain Conv2D.

Prints the train step's analytic FLOPs (3 × the convolutions and matmuls of its traced graph:
generator, both discriminators and the gradient penalty), its time, the achieved GFLOP/s, and in the same run the
GFLOP/s of a plain 3×3 Conv2D forward+backward at a comparable size; then the ratio (target >= 0.6).

    python benchmarks/bench_model.py [--size 128] [--batch 4] [--steps 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.bench_layers import time_step  # noqa: E402
from gain_tf.config import get_config  # noqa: E402
from gain_tf.flops import train_step_flops  # noqa: E402
from gain_tf.train import Trainer, TrainOptions  # noqa: E402


def conv_gflops_per_sec(repeats, batch=4, size=64, channels=128):
    """GFLOP/s of Conv2D 3×3 forward + backward (input and kernel gradients)."""
    conv = tf.keras.layers.Conv2D(channels, 3, padding="same", use_bias=False)
    conv.build((batch, size, size, channels))
    x = tf.constant(np.random.default_rng(0).normal(size=(batch, size, size, channels)), tf.float32)

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = conv(x)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x] + conv.trainable_variables)

    flops = 3 * 2 * batch * size * size * channels * channels * 9  # forward + two backward convs
    seconds = time_step(tf.function(step), (x,), repeats)
    return flops / seconds / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    config = get_config("small", image_size=args.size, batch_size=args.batch)
    trainer = Trainer(config, TrainOptions(model_dir=tempfile.mkdtemp(), progress=False))
    trainer.build(args.size, args.size)
    rng = np.random.default_rng(0)
    valid = np.ones((args.batch, args.size, args.size, 1), np.float32)
    valid[:, args.size // 4: args.size // 2, args.size // 4: 3 * args.size // 4] = 0
    batch = {"image": tf.constant(rng.uniform(-1, 1, (args.batch, args.size, args.size, 3)),
                                  tf.float32),
             "valid": tf.constant(valid)}
    step_fn = trainer.train_step
    flops = train_step_flops(lambda b: trainer.gan_step.compute(b)[2]["g_total"], batch)
    seconds = time_step(step_fn, (batch,), args.steps)
    model_rate = flops / seconds / 1e9
    conv_rate = conv_gflops_per_sec(args.steps * 4)
    print(f"small config, {args.size}x{args.size}, batch {args.batch}: train step "
          f"{flops / 1e9:.1f} GFLOP (analytic: 3 x forward convolutions), {seconds * 1e3:.0f} ms")
    print(f"  train step        {model_rate:7.1f} GFLOP/s")
    print(f"  Conv2D 3x3 f+b    {conv_rate:7.1f} GFLOP/s")
    print(f"  ratio train step / Conv2D = {model_rate / conv_rate:.2f}   (target >= 0.6)")


if __name__ == "__main__":
    main()
