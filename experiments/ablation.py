r"""The paper's ablation study in one command: train, evaluate and table each variant.

    python -m experiments.ablation --config=small --data=records/train --eval_data=records/val \
        --output_dir=ablation --steps=20000 --image_size=64

Each variant (``--variants``, default: full GAIN, ``mask_priority_off``, ``fusion_none``,
``guidance_edge``, ``guidance_none``; see ``gain_tf.config.ABLATIONS``) is trained for the same
steps on the same data, masks and seed, into ``<output_dir>/<variant>``, then evaluated with the
evaluation protocol on the same held-out images and seeded bucket masks. Writes
``ablation.md`` / ``ablation.csv`` (rows: variants, and the classical baselines; columns: relative
L1, SSIM, PSNR, FID when ``--inception_weights`` is given, per hole-ratio bucket) and
``ablation_grid.png`` (the same examples across variants). Resumable: a variant whose training
finished is not retrained (and an interrupted one resumes from its checkpoint).
"""
from __future__ import annotations

import csv
import io
import json
import os

from absl import app, flags, logging

FLAGS = flags.FLAGS


def define_flags():
    """Defines this tool's flags (called by ``__main__`` only, so modules import cleanly)."""
    flags.DEFINE_enum("config", "small", ["paper", "small", "tiny"], "Preset of GAINConfig.")
    flags.DEFINE_string("data", None, "Training data: TFRecord glob / folder or image folder.")
    flags.DEFINE_string("eval_data", None, "Held-out evaluation data (default: --data).")
    flags.DEFINE_string("output_dir", None, "Variants, tables and grids go here.")
    flags.DEFINE_list("variants", None, "Variants to run (default: the paper's five).")
    flags.DEFINE_integer("steps", 2000, "Training steps per variant.")
    flags.DEFINE_integer("batch_size", 8, "Global batch size.")
    flags.DEFINE_integer("image_size", 64, "Training and evaluation size.")
    flags.DEFINE_float("learning_rate", None, "Adam learning rate (default: the config's).")
    flags.DEFINE_enum("lr_decay", None, ["constant", "cosine"], "Learning-rate schedule (default: the config's).")
    flags.DEFINE_float("l1_hole_weight", None, "Weight of hole pixels in the L1 terms (default: the config's).")
    flags.DEFINE_float("adv_weight", None, "λ_adv (default: the config's).")
    flags.DEFINE_string("masks", "free_form", "Training masks: 'free_form', 'irregular' or a folder.")
    flags.DEFINE_integer("num_images", 32, "Evaluation images per bucket.")
    flags.DEFINE_string("buckets", "all", "Hole-ratio buckets in percent, e.g. '30-40,40-50'.")
    flags.DEFINE_string("inception_weights", None, "Local Inception-v3 .h5 for FID (optional).")
    flags.DEFINE_integer("seed", 0, "Seed of weights, data, masks and evaluation masks.")
    flags.DEFINE_integer("num_grid", 4, "Examples in the cross-variant grid.")
    flags.DEFINE_bool("export", False, "Also export each variant as a SavedModel (<variant>/export).")


def train_variant(name, config, model_dir, data, steps, batch_size, seed, masks="free_form"):
    """Trains one variant to ``steps`` (resuming); returns its generator. Skips finished ones."""
    import tensorflow as tf

    from gain_tf.train import Trainer, TrainOptions, training_dataset_fn
    tf.keras.utils.set_random_seed(seed)
    options = TrainOptions(model_dir=model_dir, steps=steps, batch_size=batch_size, seed=seed,
                           log_every=max(steps // 20, 1), image_every=max(steps // 4, 1),
                           checkpoint_every=max(steps // 4, 1))
    trainer = Trainer(config, options)
    done = os.path.join(model_dir, "done.json")
    if os.path.exists(done):
        trainer.build(config.image_size, config.image_size)
        trainer.restore()
        logging.info("%s: finished earlier, not retrained", name)
        print(f"[{name}] trained earlier ({int(trainer.step.numpy())} steps): reusing it")
        return trainer.generator
    print(f"[{name}] training {steps} steps")
    metrics = trainer.train(training_dataset_fn(config, data, batch_size, masks=masks, seed=seed))
    from gain_tf.images import atomic_write_bytes
    atomic_write_bytes(done, json.dumps({"steps": steps, "last": metrics}).encode())
    return trainer.generator


def table(rows, buckets):
    """Wide table: one row per method, (relative L1 %, SSIM, PSNR, FID) per bucket."""
    from gain_tf.masks import bucket_name
    names = [bucket_name(b) for b in buckets]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["method"], r["bucket"]): r for r in rows}
    header = ["variant"]
    for n in names:
        header += [f"{n} rel.L1 %", f"{n} SSIM", f"{n} PSNR", f"{n} FID"]
    body = []
    for m in methods:
        line = [m]
        for n in names:
            r = by.get((m, n))
            fid = r.get("fid") if r else None
            line += ([f"{100 * r['relative_l1']:.2f}", f"{r['ssim']:.4f}", f"{r['psnr']:.2f}",
                      f"{fid:.2f}" if fid is not None else "n/a"] if r else ["", "", "", ""])
        body.append(line)
    return header, body


def write_ablation_tables(rows, buckets, output_dir, note=""):
    from gain_tf.images import atomic_write_bytes
    header, body = table(rows, buckets)
    md = [note, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(line) + " |" for line in body]
    atomic_write_bytes(os.path.join(output_dir, "ablation.md"), ("\n".join(md) + "\n").encode())
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(body)
    atomic_write_bytes(os.path.join(output_dir, "ablation.csv"), buf.getvalue().encode())


def variant_grid(inpainters, eval_data, image_size, bucket, count, seed, path):
    """The same ``count`` examples across variants: masked input | variant ... | ground truth."""
    from gain_tf import metrics
    from gain_tf.data import eval_dataset
    from gain_tf.images import to_uint8, write_png
    from gain_tf.masks import hole_mask_from_valid
    batch = next(iter(eval_dataset(eval_data, image_size, bucket, count=count, seed=seed,
                                   batch_size=count)))
    gt = to_uint8(batch["image"].numpy())
    valid = batch["valid"].numpy()
    holes = hole_mask_from_valid(valid)
    outs = {name: fn(gt, holes) for name, fn in inpainters.items()}
    rows = [[metrics.masked_input_picture(gt[i], valid[i])] + [outs[n][i] for n in inpainters]
            + [gt[i]] for i in range(gt.shape[0])]
    write_png(path, metrics.make_grid(rows, ["masked input"] + list(inpainters) + ["ground truth"]))


def run(config_name, data, eval_data, output_dir, variants, steps, batch_size, image_size,
        num_images, buckets, seed, inception_weights=None, num_grid=4, export=False,
        learning_rate=None, config_overrides=None, masks="free_form"):
    """Library entry point of the ablation study; returns the evaluation rows.

    ``config_overrides`` apply to every variant (e.g. a shallower network for a quick check).
    """
    from gain_tf import evaluation, metrics
    from gain_tf.config import ABLATIONS, get_config
    from gain_tf.export import Inpainter, export_saved_model
    unknown = [v for v in variants if v not in ABLATIONS]
    if unknown:
        raise ValueError(f"--variants: unknown {unknown}; known: {sorted(ABLATIONS)}")
    os.makedirs(output_dir, exist_ok=True)
    eval_data = eval_data or data
    inception = metrics.load_inception(inception_weights) if inception_weights else None
    rows, inpainters = [], {}
    for name in variants:
        overrides = dict(config_overrides or {}, **ABLATIONS[name], image_size=image_size,
                         batch_size=batch_size, steps=steps)
        if learning_rate is not None:
            overrides["learning_rate"] = learning_rate
        config = get_config(config_name, **overrides)
        model_dir = os.path.join(output_dir, name)
        generator = train_variant(name, config, model_dir, data, steps, batch_size, seed, masks)
        inpainter = Inpainter.from_generator(generator, source=model_dir)
        inpainters[name] = inpainter.inpaint
        if export:
            export_saved_model(generator, os.path.join(model_dir, "export"))
        print(f"[{name}] evaluating")
        rows += evaluation.evaluate(inpainter.inpaint, eval_data, os.path.join(model_dir, "eval"),
                                    image_size, buckets, num_images, seed, method_name=name,
                                    baselines=False, inception=inception, num_grid=0)
    print("[baselines] evaluating Telea and Navier-Stokes")
    rows += evaluation.evaluate(None, eval_data, os.path.join(output_dir, "baselines"), image_size,
                                buckets, num_images, seed, baselines=True, inception=inception,
                                num_grid=0)
    note = (f"Ablation at `{config_name}` scale, {image_size}x{image_size}, {steps} steps, batch "
            f"{batch_size}, seed {seed}, {num_images} held-out images per bucket: not the paper's "
            f"scale. Relative L1 in %, PSNR in dB, on the composite.")
    write_ablation_tables(rows, buckets, output_dir, note)
    if num_grid:
        variant_grid(inpainters, eval_data, image_size, buckets[len(buckets) // 2], num_grid, seed,
                     os.path.join(output_dir, "ablation_grid.png"))
    print(f"ablation table: {os.path.join(output_dir, 'ablation.md')}")
    return rows


def main(argv):
    del argv
    from gain_tf.config import DEFAULT_ABLATIONS
    from gain_tf.evaluation import parse_buckets
    if not FLAGS.data:
        raise app.UsageError("--data is required")
    if not FLAGS.output_dir:
        raise app.UsageError("--output_dir is required")
    run(FLAGS.config, FLAGS.data, FLAGS.eval_data, FLAGS.output_dir,
        FLAGS.variants or list(DEFAULT_ABLATIONS), FLAGS.steps, FLAGS.batch_size, FLAGS.image_size,
        FLAGS.num_images, parse_buckets(FLAGS.buckets), FLAGS.seed, FLAGS.inception_weights,
        FLAGS.num_grid, FLAGS.export, FLAGS.learning_rate,
        {k: getattr(FLAGS, k) for k in ("lr_decay", "l1_hole_weight", "adv_weight")
         if getattr(FLAGS, k) is not None}, FLAGS.masks)
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
