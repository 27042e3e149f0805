r"""The paper's ablation study in one command: train, evaluate and table each variant.

    python -m experiments.ablation --config=small --data=records/train --eval_data=records/val \
        --output_dir=ablation --steps=20000 --image_size=64

Every ``GAINConfig`` field is a flag (``--steps``, ``--learning_rate``, ``--masks``, ...; default:
the ``--config`` preset's) and applies to every variant; each variant then changes its switch.

Each variant (``--variants``, default: full GAIN, ``mask_priority_off``, ``fusion_none``,
``guidance_edge``, ``guidance_none``, ``attention_off``; see ``gain_tf.config.ABLATIONS``) is trained for the same
steps on the same data, masks and seed, into ``<output_dir>/<variant>``, then evaluated with the
evaluation protocol on the same held-out images and seeded bucket masks. Writes
``ablation.md`` / ``ablation.csv`` (rows: variants, and the classical baselines; columns: relative
L1, SSIM, PSNR, FID when ``--inception_weights`` is given, per hole-ratio bucket) and
``ablation_grid.png`` (the same examples across variants). Resumable: a variant whose training
finished is not retrained (and an interrupted one resumes from its checkpoint).
"""
from __future__ import annotations

import os

from absl import app, flags, logging

from experiments import no_extra_args

FLAGS = flags.FLAGS


def define_flags():
    """Defines this tool's flags (called by ``__main__`` only, so modules import cleanly)."""
    from gain_tf import config
    config.define_flags(preset="small")
    flags.adopt_module_key_flags(config)        # listed by --help, not only --helpfull
    flags.DEFINE_string("data", None, "Training data: TFRecord glob / folder or image folder.")
    flags.DEFINE_string("eval_data", None, "Held-out evaluation data (default: --data).")
    flags.DEFINE_string("output_dir", None, "Variants, tables and grids go here.")
    flags.DEFINE_list("variants", None, "Variants to run (default: all six of ABLATIONS).")
    flags.DEFINE_integer("num_images", 32, "Evaluation images per bucket.")
    flags.DEFINE_string("buckets", "all", "Hole-ratio buckets in percent, e.g. '30-40,40-50'.")
    flags.DEFINE_string("inception_weights", None, "Local Inception-v3 .h5 for FID (optional).")
    flags.DEFINE_integer("seed", 0, "Seed of weights, data, masks and evaluation masks.")
    flags.DEFINE_integer("num_grid", 4, "Examples in the cross-variant grid.")
    flags.DEFINE_bool("export", False, "Also export each variant as a SavedModel (<variant>/export).")


def train_variant(name, config, model_dir, data, seed):
    """Trains one variant to ``config.optim.steps``; returns its generator. The run folder's
    :meth:`~gain_tf.run_dir.RunDir.plan` decides: a finished run is reused, an unfinished one
    resumed, a run of other settings moved aside."""
    import tensorflow as tf

    from gain_tf.data import training_dataset_fn
    from gain_tf.run_dir import RunDir
    from gain_tf.train import Trainer, TrainOptions
    tf.keras.utils.set_random_seed(seed)
    steps = config.optim.steps
    plan = RunDir(model_dir).plan(config)
    options = TrainOptions(model_dir=model_dir, seed=seed, log_every=max(steps // 20, 1),
                           image_every=max(steps // 4, 1), checkpoint_every=max(steps // 4, 1))
    trainer = Trainer(config, options)
    if plan.action == "reuse":
        trainer.build(config.data.image_size, config.data.image_size)
        trainer.restore()
        logging.info("%s: finished earlier, not retrained", name)
        print(f"[{name}] trained earlier ({int(trainer.step.numpy())} steps): reusing it")
        return trainer.generator
    if plan.note:
        print(f"[{name}] {plan.note}")
    print(f"[{name}] training {steps} steps")
    trainer.train(training_dataset_fn(config, data, seed=seed))
    return trainer.generator


def variant_grid(inpainters, eval_data, image_size, bucket, count, seed, path):
    """The same ``count`` examples across variants: masked input | variant ... | ground truth."""
    from gain_tf import pictures
    from gain_tf.data import eval_dataset
    from gain_tf.images import to_uint8, write_png
    from gain_tf.masks import hole_mask_from_valid
    batch = next(iter(eval_dataset(eval_data, image_size, bucket, count=count, seed=seed,
                                   batch_size=count)))
    gt = to_uint8(batch["image"].numpy())
    valid = batch["valid"].numpy()
    holes = hole_mask_from_valid(valid)
    outs = {name: fn(gt, holes) for name, fn in inpainters.items()}
    write_png(path, pictures.comparison_grid(gt, valid, outs))


def run(config, data, eval_data, output_dir, variants, num_images, buckets, seed,
        inception_weights=None, num_grid=4, export=False):
    """Library entry point of the ablation study; returns the evaluation rows.

    ``config`` (a ``GAINConfig``) is the base of every variant, which changes its switches on it
    (``gain_tf.config.ABLATIONS``); its data section sets the size, its optim section the steps.
    """
    from gain_tf.config import ABLATIONS
    from gain_tf.evaluation import fid, protocol, report
    from gain_tf.export import export_saved_model
    from gain_tf.inference import Inpainter
    unknown = [v for v in variants if v not in ABLATIONS]
    if unknown:
        raise ValueError(f"--variants: unknown {unknown}; known: {sorted(ABLATIONS)}")
    os.makedirs(output_dir, exist_ok=True)
    eval_data = eval_data or data
    inception = fid.load_inception(inception_weights) if inception_weights else None
    rows, inpainters = [], {}
    image_size = config.data.image_size
    for name in variants:
        model_dir = os.path.join(output_dir, name)
        generator = train_variant(name, config.replace(**ABLATIONS[name]), model_dir, data, seed)
        inpainter = Inpainter.from_generator(generator, source=model_dir)
        inpainters[name] = inpainter.inpaint
        if export:
            export_saved_model(generator, os.path.join(model_dir, "export"))
        print(f"[{name}] evaluating")
        rows += protocol.evaluate(inpainter.inpaint, eval_data, os.path.join(model_dir, "eval"),
                                  image_size, buckets, num_images, seed, method_name=name,
                                  baselines=False, inception=inception, num_grid=0)
    print("[baselines] evaluating Telea and Navier-Stokes")
    rows += protocol.evaluate(None, eval_data, os.path.join(output_dir, "baselines"), image_size,
                              buckets, num_images, seed, baselines=True, inception=inception,
                              num_grid=0)
    note = (f"Ablation at `{config.name}` scale, {image_size}x{image_size}, {config.optim.steps} "
            f"steps, batch {config.data.batch_size}, seed {seed}, {num_images} held-out images per "
            f"bucket: not the paper's scale. Relative L1 in %, PSNR in dB, on the composite.")
    report.write_wide_tables(rows, buckets, output_dir, "ablation", note)
    if num_grid:
        variant_grid(inpainters, eval_data, image_size, buckets[len(buckets) // 2], num_grid, seed,
                     os.path.join(output_dir, "ablation_grid.png"))
    print(f"ablation table: {os.path.join(output_dir, 'ablation.md')}")
    return rows


def main(argv):
    no_extra_args(argv)
    from gain_tf.config import DEFAULT_ABLATIONS, config_from_flags
    from gain_tf.evaluation.protocol import parse_buckets
    if not FLAGS.data:
        raise app.UsageError("--data is required")
    if not FLAGS.output_dir:
        raise app.UsageError("--output_dir is required")
    run(config_from_flags(), FLAGS.data, FLAGS.eval_data, FLAGS.output_dir,
        FLAGS.variants or list(DEFAULT_ABLATIONS), FLAGS.num_images, parse_buckets(FLAGS.buckets),
        FLAGS.seed, FLAGS.inception_weights, FLAGS.num_grid, FLAGS.export)
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
