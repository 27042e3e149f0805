"""TF SavedModel vs TFLite (built-in kernels, XNNPACK) vs onnxruntime: images/s of the same model and input on this CPU, as ratios, one run.

For each ``model:size`` (default ``small:256`` and ``tests/fixtures/demo_tiny:64``) it builds the
model, a preset with seeded random weights and its training size set to ``size`` (speed does not
depend on training) or a run folder's latest checkpoint (the demo-trained ``tiny``), exports a
SavedModel, converts that to TFLite float32, TFLite float16 weights and ONNX through
:func:`gain_tf.deploy.export_model` (each must pass its self-check against the SavedModel; a
refused one is reported and left out). It then times one seeded ``1×size×size`` image and hole
mask in each runtime, called bare: the ``tf.saved_model.load`` signature, each ``.tflite`` with
TFLite's built-in kernels (what the self-check runs) and with its default XNNPACK delegate, an
onnxruntime CPU session. The runtimes take turns in ``--rounds`` rounds (so a change in the
machine's load hits all of them alike), each with its own default threads unless ``--threads`` is
given (TFLite's default is one thread). Prints the export's seconds (the SavedModel's with its
check, the others' conversion alone), images/s, the ratio to the SavedModel, and each runtime's
agreement with the SavedModel on the self-check's three examples.

    python benchmarks/bench_deploy.py [--models small:256,tests/fixtures/demo_tiny:64] [--seconds 60]
        [--threads N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def runners(paths: dict, threads) -> dict:
    """Bare runtime calls ``run(image, mask) -> inpainted`` for each export in ``paths``: the
    SavedModel's signature, each ``.tflite`` with TFLite's built-in kernels and with XNNPACK,
    the ``.onnx`` in an onnxruntime CPU session."""
    import tensorflow as tf
    resolver = tf.lite.experimental.OpResolverType
    out = {}
    loaded = tf.saved_model.load(paths["saved_model"])
    fn = loaded.signatures["serving_default"]
    out["TF SavedModel"] = lambda i, m, fn=fn, keep=loaded: fn(image=tf.constant(i), mask=tf.constant(m))[
        "inpainted"].numpy()
    for key, name in (("tflite", "TFLite float32"), ("tflite16", "TFLite float16 weights")):
        for xnnpack in (False, True):
            if key not in paths:
                continue
            interpreter = tf.lite.Interpreter(
                model_path=paths[key], num_threads=threads,
                experimental_op_resolver_type=(resolver.AUTO if xnnpack
                                               else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
            if xnnpack:
                interpreter.allocate_tensors()  # applies XNNPACK (a signature runner alone does not)
            run = interpreter.get_signature_runner()
            label = f"{name}, {'XNNPACK' if xnnpack else 'built-in'}"
            out[label] = lambda i, m, run=run: run(image=i, mask=m)["inpainted"]
    if "onnx" in paths:
        import onnxruntime as ort
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(paths["onnx"], options, providers=["CPUExecutionProvider"])
        out["onnxruntime"] = lambda i, m, s=session: s.run(["inpainted"], {"image": i, "mask": m})[0]
    return out


def measure(calls: dict, image, mask, seconds: float, rounds: int) -> dict:
    """images/s of each call, after two warm-up calls, in interleaved rounds of ``seconds /
    (rounds · len(calls))`` each (at least one call per round)."""
    for run in calls.values():
        run(image, mask)
        run(image, mask)
    done = {k: 0 for k in calls}
    spent = {k: 0.0 for k in calls}
    budget = seconds / (rounds * len(calls))
    for _ in range(rounds):
        for name, run in calls.items():
            t0 = time.perf_counter()
            while True:
                run(image, mask)
                done[name] += 1
                if time.perf_counter() - t0 >= budget:
                    break
            spent[name] += time.perf_counter() - t0
    return {k: done[k] / spent[k] for k in calls}


def bench(model: str, size: int, args, workdir: str) -> None:
    import numpy as np
    import tensorflow as tf

    from gain_tf.config import get_config
    from gain_tf.deploy import ExportCheckError, check_examples, compare, export_model
    from gain_tf.export import export_saved_model
    from gain_tf.inference import build_generator, load_generator, load_saved_model
    from gain_tf.models import GAINGenerator

    if os.path.isdir(model):
        generator = load_generator(model)
        preset = f"{generator.config.name} (trained)"
    else:
        tf.keras.utils.set_random_seed(0)
        generator = GAINGenerator(get_config(model, image_size=size), name="generator")
        build_generator(generator)
        preset = f"{model} (random)"
    tag = os.path.basename(model.rstrip("/"))
    paths = {"saved_model": os.path.join(workdir, f"{tag}_sm"),
             "tflite": os.path.join(workdir, f"{tag}.tflite"),
             "tflite16": os.path.join(workdir, f"{tag}_fp16.tflite"),
             "onnx": os.path.join(workdir, f"{tag}.onnx")}
    seconds, checks = {}, {}
    t0 = time.perf_counter()
    export_saved_model(generator, paths["saved_model"])
    seconds["TF SavedModel"] = time.perf_counter() - t0
    source = load_saved_model(paths["saved_model"])
    jobs = [("tflite", "TFLite float32", "tflite", False),
            ("tflite16", "TFLite float16 weights", "tflite", True)]
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
        jobs.append(("onnx", "onnxruntime", "onnx", False))
    except ImportError:
        del paths["onnx"]
        print(f"{preset}: no ONNX (the [onnx] extra is not installed)")
    for key, name, fmt, fp16 in jobs:
        try:
            result = export_model(source, paths[key], fmt, image_size=size, float16=fp16)
            seconds[name] = result["convert_seconds"]
        except ExportCheckError as e:
            print(f"{preset:>14} {size:>4}  {name:<33} {str(e).split(': ', 1)[1]}")
            del paths[key]
    del source
    calls = runners(paths, args.threads)
    # Agreement with the SavedModel on the self-check's examples, for every runtime configuration
    # (the self-check itself runs TFLite's built-in kernels).
    examples = check_examples([(1, size, size)] * 3)
    want = np.concatenate([calls["TF SavedModel"](i, m) for i, m in examples])
    masks = np.concatenate([m for _, m in examples])
    for name, run in calls.items():
        f = compare(want, np.concatenate([run(i, m) for i, m in examples]), masks)
        checks[name] = ("KNOWN PIXELS CHANGED" if f["known_changed"] else "bit-exact" if not f["max_diff"]
                        else f"max {f['max_diff']:g}, mean {f['mean_diff']:.3f}, PSNR {f['psnr_db']:.1f} dB")
    (image, mask), = check_examples([(1, size, size)], seed=1)
    rates = measure(calls, image, mask, args.seconds, args.rounds)
    base = rates["TF SavedModel"]
    for name, rate in rates.items():
        export = seconds.get(name.split(",")[0], float("nan"))
        note = "the reference" if name == "TF SavedModel" else checks[name]
        print(f"{preset:>14} {size:>4}  {name:<33} {export:9.1f} {rate:9.2f} {rate / base:8.2f}  {note}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="small:256,tests/fixtures/demo_tiny:64",
                        help="preset:size or run_folder:size list")
    parser.add_argument("--seconds", type=float, default=60.0, help="timing per preset, all runtimes")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of every runtime (default: each runtime's own default)")
    args = parser.parse_args()
    import tensorflow as tf
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"{'model':>14} {'size':>4}  {'runtime':<33} {'export s':>9} {'images/s':>9} {'vs TF SM':>8}"
          "  hole pixels vs the SavedModel (3 check examples)")
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as workdir:
        for item in args.models.split(","):
            model, size = item.rsplit(":", 1)
            bench(os.path.join(ROOT, model) if os.sep in model else model, int(size), args, workdir)


if __name__ == "__main__":
    main()
