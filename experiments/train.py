r"""Train GAIN.

    python -m experiments.train --config=small --data=/path/to/records/train-*.tfrecord \
        --model_dir=runs/small --steps=20000 --batch_size=8
    python -m experiments.train --config=paper --dry_run       # parameters and FLOPs, then exit

``--data`` is a TFRecord glob (from ``data_prep.build_tfrecords``) or a folder of images. Training
resumes from the latest checkpoint in ``--model_dir``. The ablation switches (``--guidance``,
``--fusion``, ``--mask_priority``, ``--attention``) select the variants of the paper's study.
"""
from __future__ import annotations

import os
import sys

from absl import app, flags, logging

FLAGS = flags.FLAGS


def define_flags():
    """Defines this tool's flags (called by ``__main__`` only, so modules import cleanly)."""
    flags.DEFINE_enum("config", "small", ["paper", "small", "tiny"], "Preset of GAINConfig.")
    flags.DEFINE_string("data", None, "TFRecord glob or image folder.")
    flags.DEFINE_string("model_dir", None, "Checkpoints, TensorBoard logs and config.json go here.")
    flags.DEFINE_integer("steps", None, "Train to this many steps (default: the config's).")
    flags.DEFINE_integer("batch_size", None, "Global batch size (default: the config's).")
    flags.DEFINE_integer("image_size", None, "Training crop size (default: the config's).")
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multiworker"],
                      "tf.distribute strategy (multiworker reads TF_CONFIG).")
    flags.DEFINE_bool("mixed_precision", False, "mixed_float16 compute with loss scaling.")
    flags.DEFINE_bool("jit", False, "XLA-compile the train step's forward and backward pass.")
    flags.DEFINE_float("l1_weight", None, "λ_l1 (default 1: the paper's value is lost).")
    flags.DEFINE_float("l1_hole_weight", None,
                       "Weight of hole pixels in the L1 terms (default 1; Liu et al. use 6).")
    flags.DEFINE_float("adv_weight", None, "λ_adv (default 1: the paper's value is lost).")
    flags.DEFINE_float("gp_weight", None, "Gradient-penalty weight (default 10).")
    flags.DEFINE_float("learning_rate", None, "Adam learning rate (default 1e-4).")
    flags.DEFINE_enum("lr_decay", None, ["constant", "cosine"],
                      "Learning-rate schedule (default constant, as the paper; cosine: to 0 at --steps).")
    flags.DEFINE_float("delta", None, "Mask-shrinkage threshold δ (default 0.4).")
    flags.DEFINE_enum("guidance", None, ["gradient", "edge", "none"], "Ablation: guidance stream.")
    flags.DEFINE_enum("fusion", None, ["gai", "none"], "Ablation: GAI cross-stream fusion.")
    flags.DEFINE_enum("mask_priority", None, ["on", "off"], "Ablation: mask-shrinkage priority.")
    flags.DEFINE_enum("attention", None, ["on", "off"], "Ablation: contextual attention.")
    flags.DEFINE_enum("attention_mode", None, ["deepfill", "exact"],
                      "Contextual attention: DeepFill's published op (default) or 'exact' "
                      "(masked softmax, exact overlap normaliser, no wrap-around).")
    flags.DEFINE_integer("canny_low", None, "Canny low threshold (guidance=edge).")
    flags.DEFINE_integer("canny_high", None, "Canny high threshold (guidance=edge).")
    flags.DEFINE_string("masks", "free_form",
                        "'free_form' (DeepFill v2), 'irregular' (strokes, hole ratios spread evenly "
                        "over 10-60 %) or a folder of mask PNGs (white = hole).")
    flags.DEFINE_integer("seed", 0, "Seed of weights, data order, masks and the GAN step.")
    flags.DEFINE_bool("deterministic", False, "Deterministic input pipeline and ops (exact resume).")
    flags.DEFINE_integer("log_every", 50, "TensorBoard scalars every N steps.")
    flags.DEFINE_integer("image_every", 500, "TensorBoard image grids every N steps.")
    flags.DEFINE_integer("checkpoint_every", 1000, "Checkpoint every N steps.")
    flags.DEFINE_bool("dry_run", False, "Build the model, print parameters and FLOPs, exit.")


def config_from_flags():
    """GAINConfig from ``--config`` plus every overriding flag."""
    from gain_tf.config import get_config
    overrides = {}
    for name in ("l1_weight", "l1_hole_weight", "adv_weight", "gp_weight", "learning_rate",
                 "lr_decay", "delta", "guidance", "attention_mode",
                 "fusion", "canny_low", "canny_high", "batch_size", "image_size", "steps"):
        if getattr(FLAGS, name) is not None:
            overrides[name] = getattr(FLAGS, name)
    for name in ("mask_priority", "attention"):
        if getattr(FLAGS, name) is not None:
            overrides[name] = getattr(FLAGS, name) == "on"
    if overrides.get("guidance") == "none" and "mask_priority" not in overrides:
        overrides["mask_priority"] = False  # no guidance stream to guide it
    return get_config(FLAGS.config, **overrides)


def dry_run(config, size=256):
    """Prints the generator's and discriminators' parameters and the FLOPs of one forward."""
    import tensorflow as tf

    from gain_tf.flops import count_params, generator_flops
    from gain_tf.models import GAINGenerator, PatchDiscriminator
    g = GAINGenerator(config)
    inputs = [tf.zeros((1, size, size, 3)), tf.ones((1, size, size, 1))]
    if config.guidance == "edge":
        inputs.append(tf.zeros((1, size, size, 1)))
    g(tuple(inputs))
    d = PatchDiscriminator(config.disc_channels, config.disc_kernel, config.disc_leaky_slope)
    d((tf.zeros((1, size, size, 3)), inputs[1]))
    n_d = count_params(d)
    if config.guidance != "none":
        d2 = PatchDiscriminator(config.disc_channels, config.disc_kernel, config.disc_leaky_slope)
        d2((tf.zeros((1, size, size, config.guidance_channels)), inputs[1]))
        n_d += count_params(d2)
    flops = generator_flops(g, size, size)
    print(f"config {config.name}: generator {count_params(g):,} parameters, "
          f"discriminators {n_d:,} parameters")
    print(f"generator forward at {size}x{size}: {flops / 1e9:,.1f} GFLOP "
          f"(multiply and add counted separately)")
    return count_params(g), flops


def main(argv):
    del argv
    import tensorflow as tf

    from gain_tf.train import (Trainer, TrainingDivergedError, TrainOptions, make_strategy,
                               training_dataset_fn)
    config = config_from_flags()
    if FLAGS.dry_run:
        dry_run(config)
        return 0
    if not FLAGS.data:
        raise app.UsageError("--data is required (a TFRecord glob or an image folder)")
    if not FLAGS.model_dir:
        raise app.UsageError("--model_dir is required")
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    tf.keras.utils.set_random_seed(FLAGS.seed)
    options = TrainOptions(model_dir=FLAGS.model_dir, steps=config.steps,
                           batch_size=config.batch_size, seed=FLAGS.seed,
                           mixed_precision=FLAGS.mixed_precision, jit=FLAGS.jit,
                           log_every=FLAGS.log_every, image_every=FLAGS.image_every,
                           checkpoint_every=FLAGS.checkpoint_every)
    trainer = Trainer(config, options, make_strategy(FLAGS.strategy))
    try:
        trainer.train(training_dataset_fn(config, FLAGS.data, options.batch_size, FLAGS.masks,
                                          FLAGS.seed, FLAGS.deterministic))
    except TrainingDivergedError as e:
        logging.error("%s", e)
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"done: checkpoints in {os.path.join(FLAGS.model_dir, 'checkpoints')}, "
          f"TensorBoard logs in {os.path.join(FLAGS.model_dir, 'train')}")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
