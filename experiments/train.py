r"""Train GAIN.

    python -m experiments.train --config=small --data=/path/to/records/train-*.tfrecord \
        --model_dir=runs/small --steps=20000 --batch_size=8
    python -m experiments.train --config=paper --dry_run       # parameters and FLOPs, then exit

``--data`` is a TFRecord glob (from ``data_prep.build_tfrecords``) or a folder of images. Training
resumes from the latest checkpoint in ``--model_dir``. Every field of ``GAINConfig`` is a flag
(``--helpfull`` lists them with the section they belong to); the ablation switches
(``--guidance``, ``--fusion``, ``--nomask_priority``, ``--noattention``) select the variants of
the paper's study.
"""
from __future__ import annotations

import signal
import sys

from absl import app, flags

from experiments import no_extra_args

FLAGS = flags.FLAGS


def define_flags():
    """Defines this tool's flags (called by ``__main__`` only, so modules import cleanly): the
    run's own, and one per config field (``gain_tf.config.define_flags``)."""
    from gain_tf import config
    config.define_flags(preset="small")
    flags.adopt_module_key_flags(config)        # listed by --help, not only --helpfull
    flags.DEFINE_string("data", None, "TFRecord glob or image folder.")
    flags.DEFINE_string("model_dir", None, "Checkpoints, TensorBoard logs and config.json go here.")
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multiworker"],
                      "tf.distribute strategy (multiworker reads TF_CONFIG).")
    flags.DEFINE_float("collective_timeout", 0, "multiworker: fail a collective op that waits "
                       "longer than this many seconds for a peer (0 = wait forever).")
    flags.DEFINE_integer("intra_op_threads", 0, "Threads inside one op (0 = TensorFlow's choice: "
                         "all cores); e.g. 1 per worker when several share a host.")
    flags.DEFINE_integer("inter_op_threads", 0, "Ops run side by side (0 = TensorFlow's choice).")
    flags.DEFINE_bool("mixed_precision", False, "mixed_float16 compute with loss scaling.")
    flags.DEFINE_bool("jit", False, "XLA-compile the train step's forward and backward pass.")
    flags.DEFINE_integer("seed", 0, "Seed of weights, data order, masks and the GAN step.")
    flags.DEFINE_bool("deterministic", False, "Deterministic input pipeline and ops (exact resume).")
    flags.DEFINE_integer("log_every", 50, "TensorBoard scalars every N steps.")
    flags.DEFINE_integer("image_every", 500, "TensorBoard image grids every N steps.")
    flags.DEFINE_integer("checkpoint_every", 1000, "Checkpoint every N steps.")
    flags.DEFINE_bool("dry_run", False, "Build the model, print parameters and FLOPs, exit.")
    flags.DEFINE_string("init_from", None, "Start a new run from another run's weights (a run "
                        "folder or one of its checkpoints): step 0, fresh optimisers and schedule; "
                        "a wider generator (--image_channels, --gradient_channels) is widened "
                        "with the same outputs (docs/training.md, 'Warm start').")
    flags.DEFINE_bool("allow_config_change", False, "Resume a --model_dir whose config.json "
                      "differs from these settings (e.g. more --steps), rewriting it.")


def dry_run(config, size=256):
    """Prints the generator's and discriminators' parameters and the FLOPs of one forward."""
    from gain_tf.flops import count_params, generator_flops
    from gain_tf.models import GAINGenerator, build_discriminators
    g = GAINGenerator(config)
    inputs = g.example_inputs(size)
    out = g(inputs)
    n_d = 0
    for d, x in zip(build_discriminators(config), (inputs[0], out.get("gradient"))):
        if d is not None:
            d((x, inputs[1]))
            n_d += count_params(d)
    flops = generator_flops(g, size, size)
    print(f"config {config.name}: generator {count_params(g):,} parameters, "
          f"discriminators {n_d:,} parameters")
    print(f"generator forward at {size}x{size}: {flops / 1e9:,.1f} GFLOP "
          f"(multiply and add counted separately)")
    return count_params(g), flops


def _stop_on_sigterm() -> list:
    """SIGTERM (a scheduler's preemption, ``kill``) stops training as Ctrl-C does: the steps done
    are saved. Returns ``[how it was stopped, exit code]``, updated when SIGTERM arrives."""
    received = ["interrupted", 128 + signal.SIGINT]

    def stop(signum, frame):
        received[:] = ["terminated (SIGTERM)", 128 + signum]
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    return received


def main(argv):
    no_extra_args(argv)
    import tensorflow as tf

    from gain_tf.config import config_from_flags
    from gain_tf.data import training_dataset_fn
    from gain_tf.train import (Trainer, TrainingDivergedError, TrainingInterrupted, TrainOptions,
                               make_strategy)
    config = config_from_flags()
    if FLAGS.dry_run:
        dry_run(config)
        return 0
    if not FLAGS.data:
        raise app.UsageError("--data is required (a TFRecord glob or an image folder)")
    if not FLAGS.model_dir:
        raise app.UsageError("--model_dir is required")
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    tf.keras.utils.set_random_seed(FLAGS.seed)
    options = TrainOptions(model_dir=FLAGS.model_dir, seed=FLAGS.seed,
                           mixed_precision=FLAGS.mixed_precision, jit=FLAGS.jit,
                           log_every=FLAGS.log_every, image_every=FLAGS.image_every,
                           checkpoint_every=FLAGS.checkpoint_every,
                           allow_config_change=FLAGS.allow_config_change,
                           init_from=FLAGS.init_from)
    from gain_tf.image_sources import resolve_source
    try:
        resolve_source(FLAGS.data)   # a mistyped --data is said before any model is built
        strategy = make_strategy(FLAGS.strategy, FLAGS.collective_timeout)
    except (ValueError, FileNotFoundError) as e:  # e.g. a TF_CONFIG that is not JSON: one line
        print(f"error: {e}", file=sys.stderr)
        return 1
    trainer = Trainer(config, options, strategy)
    received = _stop_on_sigterm()
    try:
        trainer.train(training_dataset_fn(config, FLAGS.data, FLAGS.seed, FLAGS.deterministic))
    except (TrainingDivergedError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except tf.errors.DataLossError as e:  # a corrupt TFRecord: one line naming the file
        from gain_tf.records import corrupt_record_error
        print(f"error: {corrupt_record_error(FLAGS.data, 'train', e)}", file=sys.stderr)
        return 1
    except TrainingInterrupted as e:
        if e.checkpoint is None:
            where = "no checkpoint of this run" + (" yet" if trainer.is_chief else " in this worker")
        elif e.checkpoint_step == e.step:
            where = f"{e.checkpoint} holds step {e.step}"
        else:
            where = (f"the last checkpoint, {e.checkpoint}, holds step {e.checkpoint_step}; "
                     f"the steps after it are lost")
        print(f"{received[0]} at step {e.step}: {where}; run the same command to resume",
              file=sys.stderr)
        return received[1]
    except KeyboardInterrupt:   # before the loop, or a second Ctrl-C while saving
        print(f"{received[0]}: a rerun resumes from the last checkpoint in {FLAGS.model_dir}, if any",
              file=sys.stderr)
        return received[1]
    if trainer.is_chief:
        print(f"done: checkpoints in {trainer.run_dir.checkpoint_dir}, "
              f"TensorBoard logs in {trainer.run_dir.log_dir}; weights {trainer.weights_digest()}")
    else:
        print(f"done: {trainer.task} (not the chief; it wrote nothing); "
              f"weights {trainer.weights_digest()}")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
