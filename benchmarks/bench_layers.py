"""Layer speed, measured in one run: PartialConv2D against plain Conv2D (and later layers likewise).

Forward + backward under tf.function, batch 8, 64×64, 64 -> 64 channels, kernel 3, 50% random holes.
Prints the time ratio PartialConv2D / Conv2D (target <= 1.15).

    python benchmarks/bench_layers.py [--repeats 30]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from gain_tf.layers import PartialConv2D  # noqa: E402


def time_step(step, args, repeats):
    """Median seconds of ``step(*args)`` after two warm-up calls."""
    for _ in range(2):
        tf.nest.map_structure(lambda t: t.numpy(), step(*args))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), step(*args))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def fwd_bwd(layer, make_inputs):
    @tf.function
    def step(x, valid):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = make_inputs(layer, x, valid)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x] + layer.trainable_variables)
    return step


def bench_partial_conv(repeats, batch=8, size=64, channels=64):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch, size, size, channels)).astype(np.float32))
    valid = tf.constant((rng.random((batch, size, size, 1)) > 0.5).astype(np.float32))
    conv = tf.keras.layers.Conv2D(channels, 3, padding="same")
    pconv = PartialConv2D(channels, 3)
    t_conv = time_step(fwd_bwd(conv, lambda l, x, v: l(x)), (x, valid), repeats)
    t_pconv = time_step(fwd_bwd(pconv, lambda l, x, v: l((x, v))[0]), (x, valid), repeats)
    print(f"PartialConv2D vs Conv2D, fwd+bwd, batch {batch}, {size}x{size}, {channels}->{channels}, k3:")
    print(f"  Conv2D        {t_conv * 1e3:8.2f} ms")
    print(f"  PartialConv2D {t_pconv * 1e3:8.2f} ms")
    print(f"  ratio PartialConv2D / Conv2D = {t_pconv / t_conv:.3f}   (target <= 1.15)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    bench_partial_conv(args.repeats)


if __name__ == "__main__":
    main()
