"""Train-step cost of a GAIN config, counted on its traced step, projected to A100 / H100.

Prints the step's FLOPs and activation memory, counted from the traced graph of the real step
(:mod:`gain_tf.cost`), and a projection to 10^6 steps on A100 / H100 (on paper). For CPU-sized
configs it also times the step: median time, GFLOP/s and, in the same run, the GFLOP/s of a plain
3×3 Conv2D forward+backward; the ratio's target is >= 0.6 (for ``small``). ``--config=paper`` is
not timed by default (``--time`` forces it): this CPU cannot afford it.

    python benchmarks/bench_model.py                 # small, 128×128, batch 4, timed (as before)
    python benchmarks/bench_model.py --config=paper --image_size=256 --batch_size=8
    python benchmarks/bench_model.py --config=tiny --image_size=64 --batch_size=8

``--size`` and ``--batch`` are the old names of ``--image_size`` and ``--batch_size``.
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
from gain_tf.config import PRESETS, get_config  # noqa: E402
from gain_tf.cost import PARTS, fixed_bytes, step_cost  # noqa: E402
from gain_tf.flops import count_params  # noqa: E402
from gain_tf.train import Trainer, TrainOptions  # noqa: E402

# Public dense (no sparsity) FP16/BF16 tensor-core peaks of the SXM parts, both with 80 GB.
GPUS = (("A100 SXM 80GB", 312e12), ("H100 SXM 80GB", 989e12))
UTILISATIONS = (0.30, 0.50)
GPU_BYTES = 80e9
OVERHEAD_BYTES = 2e9          # CUDA context, cuDNN / cuBLAS workspaces
FRAGMENTATION = 1.10          # allocator slack on the activations
DEFAULT_SIZE = {"small": (128, 4)}   # the benchmark's historical setting; others: the preset's


def _bytes(n):
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def _duration(seconds):
    for unit, length in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:.1f} {unit}"
    return f"{seconds:.1f} s"


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


def max_batch(per_image_bytes, fixed):
    """Largest batch whose activations, weights, gradients, Adam slots and overhead fit one GPU."""
    return int((GPU_BYTES - fixed - OVERHEAD_BYTES) // (per_image_bytes * FRAGMENTATION))


def traced_cost(config, spec, model_dir, mixed_precision=False):
    """A trainer for ``config`` and the cost of its step traced on ``spec``."""
    trainer = Trainer(config, TrainOptions(model_dir=model_dir, progress=False,
                                           mixed_precision=mixed_precision))
    cost = step_cost(trainer.gan_step, spec)          # traces the step (and creates the weights)
    tf.keras.mixed_precision.set_global_policy("float32")
    return trainer, cost


FLOP_METHOD = """\
FLOPs of one training step, counted op by op on the traced graph of GANStep.compute (generator,
both discriminators on real, composite and interpolate, the gradient penalty, the backward pass
and the penalty's double backward are all explicit ops there). Counted: convolutions (forward,
input gradient, kernel gradient, depthwise) and matmuls, each 2 x multiply-adds from its shapes;
elementwise ops not; ops that feed no output (unused tape gradients) pruned first."""
GP_NOTE = """\
  The penalty's double backward is counted as the ops the graph has for it: the gradient of
  grad_x D (two convolutions per layer); it does not re-enter D's forward, since LeakyReLU's
  second derivative is 0."""
MEMORY_METHOD = """\
Activation memory, from the same graph, traced in float32 and again under mixed_float16: its ops
replayed in creation order, each tensor live from its op to its last consumer, views sharing
buffers; weights, constants and the returned gradients left out (counted below)."""


def print_cost(cost, cost16, n_params, size, project_steps):
    b, total = cost.batch, cost.total_flops
    print(FLOP_METHOD)
    for part, flops in list(cost.flops.items()) + [("one training step", total)]:
        print(f"  {part:<50} {flops / 1e9:12,.2f} GFLOP")
    d_call = cost.flops[PARTS[1]] / 3                 # one call of both discriminators
    gp = d_call + cost.flops[PARTS[2]] + cost.flops[PARTS[5]]
    print(f"  gradient penalty in all: {gp / 1e9:,.2f} GFLOP = {gp / d_call:.1f} x one call of "
          "D (forward, grad_x D, double backward).")
    print(GP_NOTE)
    print(f"  Rule of thumb, 3 x forward (grad_x D counted as forward; gives the penalty 6 x): "
          f"{3 * cost.forward_flops / 1e9:,.2f} GFLOP")
    print(f"  Generator forward alone: {cost.flops[PARTS[0]] / b / 1e9:,.2f} GFLOP per "
          f"{size}x{size} image; {cost.tf_generator_flops / b / 1e9:,.2f} with elementwise ops\n"
          "  (every op with TensorFlow statistics, as --dry_run and the README count)")

    print(MEMORY_METHOD)
    for label, c in (("float32", cost), ("mixed_float16", cost16)):
        print(f"  {label:<14} saved for the backward {_bytes(c.saved_bytes)}, peak "
              f"{_bytes(c.peak_bytes)} ({_bytes(c.peak_bytes / b)} per image)")
    fixed = fixed_bytes(n_params)
    print(f"  weights, gradients and Adam's two slots, float32: {n_params / 1e6:,.1f} M parameters"
          f" x 16 B = {_bytes(fixed)}")

    print(f"\nProjection ON PAPER, NOT MEASURED: no GPU with TensorFlow is available.\n"
          f"{project_steps:.0e} steps of batch {b} at {size}x{size} on one GPU = "
          f"{project_steps * total:.2e} FLOP, at a fraction of\nthe dense FP16/BF16 tensor-core "
          "peak (--mixed_precision); compute only, no input pipeline.")
    head = " | ".join(f"{u:.0%} of peak" for u in UTILISATIONS)
    print(f"  | GPU | dense FP16/BF16 peak | {head} | largest batch in 80 GB, mixed / float32 |")
    print("  |---|---|" + "---|" * len(UTILISATIONS) + "---|")
    fits = f"{max_batch(cost16.peak_bytes / b, fixed)} / {max_batch(cost.peak_bytes / b, fixed)}"
    for gpu, peak in GPUS:
        times = " | ".join(_duration(project_steps * total / (u * peak)) for u in UTILISATIONS)
        print(f"  | {gpu} | {peak / 1e12:.0f} TFLOP/s | {times} | {fits} |")
    print(f"  Largest batch = (80 GB - {_bytes(fixed)} weights, gradients, Adam - "
          f"{_bytes(OVERHEAD_BYTES)} CUDA context and workspaces)\n"
          f"  / ({FRAGMENTATION:.2f} x peak activations per image), activations taken as linear "
          "in batch.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="small", choices=sorted(PRESETS))
    parser.add_argument("--image_size", "--size", type=int, default=None,
                        help="default: 128 for small, else the preset's")
    parser.add_argument("--batch_size", "--batch", type=int, default=None,
                        help="default: 4 for small, else the preset's")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (median)")
    parser.add_argument("--time", dest="time", action="store_true",
                        help="time a step (the default, except for --config=paper)")
    parser.add_argument("--no_time", dest="time", action="store_false", help="do not time a step")
    parser.set_defaults(time=None)
    parser.add_argument("--project_steps", type=float, default=1e6)
    args = parser.parse_args()
    preset = PRESETS[args.config].data
    size, batch_size = DEFAULT_SIZE.get(args.config, (preset.image_size, preset.batch_size))
    size = args.image_size or size
    batch_size = args.batch_size or batch_size
    timed = args.time if args.time is not None else args.config != "paper"

    config = get_config(args.config, image_size=size, batch_size=batch_size)
    spec = {"image": tf.TensorSpec([batch_size, size, size, 3]),
            "valid": tf.TensorSpec([batch_size, size, size, 1])}
    tmp = tempfile.TemporaryDirectory()
    trainer, cost = traced_cost(config, spec, os.path.join(tmp.name, "float32"))
    _, cost16 = traced_cost(config, spec, os.path.join(tmp.name, "mixed"), mixed_precision=True)
    n_params = count_params(trainer.generator) + sum(map(count_params, trainer.discriminators))
    print(f"{args.config} config, {size}x{size}, batch {batch_size}")
    print_cost(cost, cost16, n_params, size, args.project_steps)
    if not timed:
        print("\nNot timed (--config=paper or --no_time).")
        return

    trainer.build(size, size)
    rng = np.random.default_rng(0)
    valid = np.ones((batch_size, size, size, 1), np.float32)
    valid[:, size // 4: size // 2, size // 4: 3 * size // 4] = 0
    batch = {"image": tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 3)), tf.float32),
             "valid": tf.constant(valid)}
    seconds = time_step(trainer.train_step, (batch,), args.steps)
    model_rate = cost.total_flops / seconds / 1e9
    conv_rate = conv_gflops_per_sec(args.steps * 4)
    print(f"\nMeasured on this CPU: train step {seconds * 1e3:.0f} ms ({1 / seconds:.2f} steps/s)")
    print(f"  train step        {model_rate:7.1f} GFLOP/s")
    print(f"  Conv2D 3x3 f+b    {conv_rate:7.1f} GFLOP/s")
    print(f"  ratio train step / Conv2D = {model_rate / conv_rate:.2f}   (target >= 0.6 for small)")


if __name__ == "__main__":
    main()
