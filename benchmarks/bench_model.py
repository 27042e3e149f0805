"""Train-step cost of a GAIN config, counted on its traced step, projected to A100 / H100.

Prints the step's FLOPs and activation memory, counted from the traced graph of the real step
(:mod:`gain_tf.cost`), and a projection to 10^6 steps on A100 / H100 (on paper). For CPU-sized
configs it also times the real training step (``Trainer.train_step``: generator forward and
backward, both discriminators, gradient penalty, both Adam updates) on a synthetic in-memory batch:
tracing time, steps/s (median step after tracing), GFLOP/s and, in the same run, the GFLOP/s of a
plain 3×3 Conv2D forward+backward (the ratio's target is >= 0.8 for ``small``); then it profiles a
few steps with TensorFlow's profiler and prints the share of step time per layer family
(:func:`family_shares`). ``--config=paper`` is not timed by default (``--time`` forces it): this
CPU cannot afford it. ``--compare_rounds=N`` times TensorFlow's dilated convolutions (``--block=old``)
against this project's (``new``, :mod:`gain_tf.ops.dilated`) in alternating processes.

    python benchmarks/bench_model.py                 # small, 128×128, batch 4, timed (as before)
    python benchmarks/bench_model.py --config=paper --image_size=256 --batch_size=8
    python benchmarks/bench_model.py --config=tiny    # 64×64, batch 8 (the demo's size)
    python benchmarks/bench_model.py --config=tiny --intra_op_threads=1 --inter_op_threads=2
    python benchmarks/bench_model.py --config=small --compare_rounds=3   # old against new

``--size`` and ``--batch`` are the old names of ``--image_size`` and ``--batch_size``.
"""
from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.bench_layers import time_step  # noqa: E402
from gain_tf.config import PRESETS, get_config  # noqa: E402
from gain_tf.cost import PARTS, fixed_bytes, step_cost  # noqa: E402
from gain_tf.flops import count_params  # noqa: E402
from gain_tf.ops import dilated  # noqa: E402
from gain_tf.train import Trainer, TrainOptions  # noqa: E402

# Public dense (no sparsity) FP16/BF16 tensor-core peaks of the SXM parts, both with 80 GB.
GPUS = (("A100 SXM 80GB", 312e12), ("H100 SXM 80GB", 989e12))
UTILISATIONS = (0.30, 0.50)
GPU_BYTES = 80e9
OVERHEAD_BYTES = 2e9          # CUDA context, cuDNN / cuBLAS workspaces
FRAGMENTATION = 1.10          # allocator slack on the activations
# The benchmark's historical setting for small; tiny at the size `make demo` trains it; others: the
# preset's.
DEFAULT_SIZE = {"small": (128, 4), "tiny": (64, 8)}


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


def _cpu_seconds():
    """(CPU seconds of the whole machine, of this process) so far, from /proc; None elsewhere."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        with open("/proc/self/stat") as f:
            mine = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    busy = sum(ticks) - ticks[3] - ticks[4]          # all but idle and iowait
    return busy / hz, (int(mine[11]) + int(mine[12])) / hz


def other_load(before, seconds):
    """Cores that other processes kept busy since ``before`` (a :func:`_cpu_seconds`)."""
    after = _cpu_seconds()
    if before is None or after is None or seconds <= 0:
        return None
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / seconds)


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


# ---------------------------------------------------------------- where the step's time goes
FAMILIES = (
    ("pconv", "PartialConv2D, stream convs (pconv_ii, pconv_gg)"),
    ("fusion", "GAIBlock fusion (pconv_gi, pconv_ig, sums, ELU)"),
    ("gradient", "GradientFilter (grad)"),
    ("priority", "MaskShrink (priority)"),
    ("attention", "ContextualAttention"),
    ("generator", "generator outside its layers (input ∇I, upsample)"),
    ("disc", "discriminators (D^I, D^S, spectral norm)"),
    ("optim", "optimiser updates (both Adams)"),
    ("other", "other (losses, penalty, target ∇I, AddN sums)"),
    ("runtime", "TF executor between ops (no op running)"),
)
PROFILE_METHOD = """\
Share of step time per layer family: TensorFlow's profiler (tf.profiler.experimental) over {steps}
steps, its XSpace trace parsed. On TensorFlow's inter-op threads, each op's duration (its wall time:
its intra-op work, and any wait for the shared intra-op pool, included) less that of ops nested in
it, so nothing counts twice; assigned by the Keras layer scope in the op's name
(generator/<block>/pconv_ii/mask_shrink/...: the innermost layer's class decides; backward
ops, gradient_tape/..., go to the layer of their forward op; the Adam scopes to the optimisers).
Time those threads spend in the executor between ops is its own row. Shares of the threads' busy
time. The profiler slows the step (its wall time below) by recording every op execution."""


def _sub_layers(layer):
    return list(layer._flatten_layers(include_self=False, recursive=False))  # direct children


def _scoped(names, component):
    """The layer name of a scope component: itself, or a name uniquified as ``name_<n>`` (a layer
    called twice, e.g. a discriminator on real, fake and interpolate)."""
    if component in names:
        return component
    m = re.fullmatch(r"(.+)_\d+", component)
    return m.group(1) if m and m.group(1) in names else None


class LayerFamilies:
    """Maps an op name to the family (:data:`FAMILIES`) of the innermost Keras layer in its scope.

    The layer tree is the trainer's own models (classes and ``.name`` of every layer), so a
    renamed or added layer is still found."""

    def __init__(self, trainer):
        from gain_tf.layers import (ContextualAttention, GAIBlock, GradientFilter, MaskShrink,
                                    PartialConv2D)
        self._classes = ((MaskShrink, "priority"), (ContextualAttention, "attention"),
                         (GradientFilter, "gradient"), (GAIBlock, "fusion"),
                         (PartialConv2D, "pconv"))
        self._gai = GAIBlock
        self.roots = {trainer.generator.name: self._tree(trainer.generator, "generator")}
        for d in trainer.discriminators:
            self.roots[d.name] = self._tree(d, "disc")
        self.optimizers = {o.name for o in (trainer.g_optimizer, trainer.d_optimizer)}
        self._cache = {}

    def _family(self, layer, parent, inherited):
        if inherited == "disc":
            return "disc"
        if isinstance(parent, self._gai) and layer in (getattr(parent, "pconv_gi", None),
                                                        getattr(parent, "pconv_ig", None)):
            return "fusion"                         # the cross-stream convs of a GAI-Block
        for cls, family in self._classes:
            if isinstance(layer, cls):
                return family
        return inherited                            # e.g. GuideMask: its block's conv

    def _tree(self, layer, family):
        return family, {c.name: self._tree(c, self._family(c, layer, family))
                        for c in _sub_layers(layer)}

    def __call__(self, op_name):
        if op_name not in self._cache:
            self._cache[op_name] = self._resolve(op_name.split("/")[:-1])
        return self._cache[op_name]

    def _resolve(self, scopes):
        for i, component in enumerate(scopes):
            root = _scoped(self.roots, component)
            if root is None:
                continue
            family, children = self.roots[root]
            for sub in scopes[i + 1:]:
                child = _scoped(children, sub)
                if child is None:
                    break
                family, children = children[child]
            return family
        if any(_scoped(self.optimizers, c) for c in scopes):
            return "optim"
        return "other"


def _load_xspace(logdir):
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError:                              # other TensorFlow layouts
        from tsl.profiler.protobuf import xplane_pb2
    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))
    if not paths:
        raise RuntimeError(f"the profiler wrote no *.xplane.pb under {logdir}")
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as f:
        space.ParseFromString(f.read())
    return space


def _self_times(events, op_family, outside, times):
    """Adds the self time of one thread's events to ``times`` (see :func:`family_times`)."""
    stack = []                                       # [end, owner family, children's time, dur]

    def close():
        end, owner, children, duration = stack.pop()
        if owner is not None:
            times[owner] += max(duration - children, 0)
        if stack:
            stack[-1][2] += duration

    n_ops = 0
    for e in sorted(events, key=lambda e: (e.offset_ps, -e.duration_ps)):
        start = e.offset_ps
        while stack and stack[-1][0] <= start:
            close()
        end = start + e.duration_ps
        if stack:
            end = min(end, stack[-1][0])             # clipped to its parent if not nested
        family = op_family.get(e.metadata_id)
        n_ops += family is not None
        owner = family if family is not None else (stack[-1][1] if stack else outside)
        stack.append([end, owner, 0, end - start])
    while stack:
        close()
    return n_ops


def family_times(space, families):
    """Picoseconds per family and the number of op executions in an XSpace of the host.

    Per thread line the events nest (a kernel inside ``ExecutorState::Process``, Eigen's
    ``ParallelFor`` inside a kernel); each event's self time (its duration minus its direct
    children's) goes to its nearest enclosing op, or, on TensorFlow's own threads (``tf_*``),
    outside any op, to ``runtime``. Time of other threads outside ops (the Python thread waiting
    for the step) is not counted."""
    times, n_ops = collections.Counter(), 0
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        op_family = {}                               # metadata id -> family, for op events
        for mid, meta in plane.event_metadata.items():
            if meta.display_name and meta.name.endswith(":" + meta.display_name):
                op_family[mid] = families(meta.name[:-len(meta.display_name) - 1])
        for line in plane.lines:
            outside = "runtime" if line.name.startswith("tf_") else None
            n_ops += _self_times(line.events, op_family, outside, times)
    return times, n_ops


def family_shares(trainer, batch, steps):
    """Profiles ``steps`` training steps; prints time per step and share per layer family."""
    run = lambda: tf.nest.map_structure(lambda t: t.numpy(), trainer.train_step(batch))
    run()                                           # warm (traced before)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        for _ in range(steps):
            run()
        wall = (time.perf_counter() - t0) / steps
        others = other_load(cpu0, wall * steps)
        tf.profiler.experimental.stop()
        space = _load_xspace(logdir)
    times, n_ops = family_times(space, LayerFamilies(trainer))
    total = sum(times.values())
    print(PROFILE_METHOD.format(steps=steps))
    print(f"  {'family':<50} {'ms/step':>8} {'share':>7}")
    for key, label in FAMILIES:
        ps = times.get(key, 0)
        print(f"  {label:<50} {ps / steps / 1e9:8.1f} {100 * ps / total:6.1f} %")
    print(f"  {'total (busy time of the inter-op threads)':<50} {total / steps / 1e9:8.1f} "
          f"{100.0:6.1f} %")
    print(f"  profiled step {wall * 1e3:.0f} ms wall, {n_ops / steps:,.0f} op executions per step, "
          f"{total / steps / 1e12 / wall:.2f} inter-op threads busy on average"
          + (f"; other processes: {others:.2f} cores" if others is not None else ""))
    return times


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
          "  (every op with TensorFlow statistics, as --dry_run and docs/scale.md count)")

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


COMPARE_METHOD = """\
Old against new, measured in one run: the dilated convolutions on sub-grids (gain_tf/ops/dilated.py,
--block=new) and TensorFlow's own (--block=old), each timed in its own process as above, the two
taking turns (old first in odd rounds, new first in even ones); medians over the rounds. GFLOP/s
from the same count for both (every tap of every dilated kernel, as TensorFlow's path runs them)."""


def compare_blocks(args):
    """Runs this benchmark for ``--block=old`` and ``new`` in alternating child processes."""
    argv = [sys.executable, os.path.abspath(__file__), f"--config={args.config}",
            f"--steps={args.steps}", f"--intra_op_threads={args.intra_op_threads}",
            f"--inter_op_threads={args.inter_op_threads}", "--profile_steps=0", "--result_only"]
    argv += [f"--image_size={args.image_size}"] if args.image_size else []
    argv += [f"--batch_size={args.batch_size}"] if args.batch_size else []
    results = {"old": [], "new": []}
    for r in range(args.compare_rounds):
        for block in ("old", "new") if r % 2 == 0 else ("new", "old"):
            run = subprocess.run(argv + [f"--block={block}"], capture_output=True, text=True)
            lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
            if run.returncode or not lines:
                sys.exit(f"bench_model.py --block={block} failed:\n{run.stderr[-3000:]}")
            res = json.loads(lines[-1][len("RESULT "):])
            results[block].append(res)
            print(f"  round {r + 1}/{args.compare_rounds}, {block}: {res['steps_per_s']:.2f} "
                  f"steps/s, ratio to Conv2D {res['ratio']:.2f}, other processes "
                  f"{res['others']:.2f} cores", flush=True)
    med = {b: {k: float(np.median([x[k] for x in rs])) for k in rs[0]} for b, rs in results.items()}
    first = results["old"][0]
    print(COMPARE_METHOD)
    print(f"\n{args.config}, {first['size']}x{first['size']}, batch {first['batch']}, "
          f"{first['gflop']:.2f} GFLOP per step, {args.compare_rounds} rounds")
    print("| block | steps/s | step | train step GFLOP/s | Conv2D GFLOP/s | ratio to Conv2D |")
    print("|---|---:|---:|---:|---:|---:|")
    for b in ("old", "new"):
        m = med[b]
        print(f"| {b} | {m['steps_per_s']:.2f} | {1e3 / m['steps_per_s']:.0f} ms | "
              f"{m['model_gflops']:.1f} | {m['conv_gflops']:.1f} | {m['ratio']:.2f} |")
    print(f"new / old steps/s: {med['new']['steps_per_s'] / med['old']['steps_per_s']:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="small", choices=sorted(PRESETS))
    parser.add_argument("--image_size", "--size", type=int, default=None,
                        help="default: 128 for small, 64 for tiny, else the preset's")
    parser.add_argument("--batch_size", "--batch", type=int, default=None,
                        help="default: 4 for small, 8 for tiny, else the preset's")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps (median); default 20 for tiny, else 5")
    parser.add_argument("--profile_steps", type=int, default=5,
                        help="steps profiled for the shares per layer family (0: none)")
    parser.add_argument("--intra_op_threads", type=int, default=0,
                        help="TensorFlow's intra-op threads (0: TensorFlow's choice)")
    parser.add_argument("--inter_op_threads", type=int, default=0,
                        help="TensorFlow's inter-op threads (0: TensorFlow's choice)")
    parser.add_argument("--time", dest="time", action="store_true",
                        help="time a step (the default, except for --config=paper)")
    parser.add_argument("--no_time", dest="time", action="store_false", help="do not time a step")
    parser.set_defaults(time=None)
    parser.add_argument("--project_steps", type=float, default=1e6)
    parser.add_argument("--block", default="new", choices=("new", "old"),
                        help="dilated convolutions on sub-grids (new) or TensorFlow's (old)")
    parser.add_argument("--compare_rounds", type=int, default=0,
                        help="time --block=old and new in alternating processes, this many rounds")
    parser.add_argument("--result_only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    if args.steps is None:
        args.steps = 20 if args.config == "tiny" else 5
    if args.compare_rounds > 0:
        return compare_blocks(args)
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
    if not args.result_only:
        _, cost16 = traced_cost(config, spec, os.path.join(tmp.name, "mixed"),
                                mixed_precision=True)
        n_params = count_params(trainer.generator) + sum(map(count_params, trainer.discriminators))
        print(f"{args.config} config, {size}x{size}, batch {batch_size}")
        print_cost(cost, cost16, n_params, size, args.project_steps)
    dilated.SUBGRIDS = args.block == "new"    # the step timed below (FLOPs: nominal for both)
    if not timed:
        print("\nNot timed (--config=paper or --no_time).")
        return

    trainer.build(size, size)
    rng = np.random.default_rng(0)
    valid = np.ones((batch_size, size, size, 1), np.float32)
    valid[:, size // 4: size // 2, size // 4: 3 * size // 4] = 0
    batch = {"image": tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 3)), tf.float32),
             "valid": tf.constant(valid)}
    t0 = time.perf_counter()
    tf.nest.map_structure(lambda t: t.numpy(), trainer.train_step(batch))
    first = time.perf_counter() - t0
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    seconds = time_step(trainer.train_step, (batch,), args.steps)
    others = other_load(cpu0, time.perf_counter() - t0)
    step_fn = trainer.gan_step._step_fn
    traces = step_fn.experimental_get_tracing_count()
    model_rate = cost.total_flops / seconds / 1e9
    conv_rate = conv_gflops_per_sec(args.steps * 4)
    if args.result_only:
        print("RESULT " + json.dumps(dict(
            size=size, batch=batch_size, gflop=cost.total_flops / 1e9, steps_per_s=1 / seconds,
            model_gflops=model_rate, conv_gflops=conv_rate, ratio=model_rate / conv_rate,
            others=others if others is not None else float("nan"))))
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = lambda n: n or f"TensorFlow's choice, {cores}"
    print(f"\nMeasured on this CPU: train step {seconds * 1e3:.0f} ms ({1 / seconds:.2f} steps/s)")
    print(f"  median of {args.steps} steps after tracing, on a synthetic in-memory batch; "
          f"{cores} cores, intra-op threads\n  {threads(args.intra_op_threads)}, inter-op threads "
          f"{threads(args.inter_op_threads)}")
    print(f"  tracing + first step {first:.1f} s (not in the median); the step function was traced "
          f"{traces} time(s) in {args.steps + 3} calls")
    if others is not None:
        print(f"  other processes kept {others:.2f} of the {cores} cores busy meanwhile "
              "(/proc/stat)")
    print(f"  train step        {model_rate:7.1f} GFLOP/s")
    print(f"  Conv2D 3x3 f+b    {conv_rate:7.1f} GFLOP/s")
    print(f"  ratio train step / Conv2D = {model_rate / conv_rate:.2f}   (target >= 0.8 for small)")
    if args.profile_steps > 0:
        print()
        family_shares(trainer, batch, args.profile_steps)


if __name__ == "__main__":
    main()
