"""Layer speed, measured in one run against plain Conv2D of the same shape.

* PartialConv2D: forward + backward under tf.function, batch 8, 64×64, 64 -> 64 channels, kernel 3,
  50% random holes; prints the time ratio PartialConv2D / Conv2D (target <= 1.15).
* ContextualAttention: forward + backward, batch 8, 64×64×256, a 32×32 hole per sample; time and
  peak memory (resident-set high-water mark, reset before each measurement) beside a 3×3 Conv2D
  256 -> 256 of the same shape.

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
from gain_tf.layers.contextual_attention import ContextualAttention  # noqa: E402


def _peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux)
    except OSError:
        pass


def peak_memory_mb(step, args):
    """Resident-memory rise (MiB) during one call of ``step`` (after warm-up)."""
    _reset_peak_rss()
    base = _peak_rss_mb()
    tf.nest.map_structure(lambda t: t.numpy(), step(*args))
    return _peak_rss_mb() - base


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


def bench_contextual_attention(repeats, batch=8, size=64, channels=256):
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(batch, size, size, channels)).astype(np.float32))
    valid = np.ones((batch, size, size, 1), np.float32)
    valid[:, 16:48, 16:48] = 0.0
    valid = tf.constant(valid)
    conv = tf.keras.layers.Conv2D(channels, 3, padding="same")
    attention = ContextualAttention()
    conv_step = fwd_bwd(conv, lambda l, x, v: l(x))
    ca_step = fwd_bwd(attention, lambda l, x, v: l((x, v)))
    t_conv = time_step(conv_step, (x, valid), repeats)
    m_conv = peak_memory_mb(conv_step, (x, valid))
    t_ca = time_step(ca_step, (x, valid), repeats)
    m_ca = peak_memory_mb(ca_step, (x, valid))
    print(f"ContextualAttention vs Conv2D 3x3, fwd+bwd, batch {batch}, {size}x{size}x{channels}:")
    print(f"  Conv2D              {t_conv * 1e3:8.1f} ms   peak +{m_conv:7.1f} MiB")
    print(f"  ContextualAttention {t_ca * 1e3:8.1f} ms   peak +{m_ca:7.1f} MiB")
    print(f"  ratio ContextualAttention / Conv2D: time {t_ca / t_conv:.2f}, "
          f"memory {m_ca / max(m_conv, 1e-9):.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    bench_partial_conv(args.repeats)
    bench_contextual_attention(max(args.repeats // 3, 3))


if __name__ == "__main__":
    main()
