r"""`make demo`: GAIN end to end on built-in data (or your photos), in minutes on a CPU.

    python -m experiments.demo                        # procedural scenes, no download
    python -m experiments.demo --data=/path/to/photos # your own folder of images

Data -> TFRecords -> training -> evaluation against Telea and Navier–Stokes per hole-ratio bucket
-> SavedModel export -> inpainting of held-out images with the exported model, all written to
``--output_dir`` (default ``demo_out/``):

    demo_grid.png        masked input | GAIN | Telea | ground truth | |∇I| truth | |∇I*| GAIN
    mask_shrinkage.png   how the holes of one example shrink block by block in branch 1
    results.md / .csv    relative L1, SSIM, PSNR per bucket for GAIN, Telea, Navier–Stokes
    shipped/             the shipped photo model (models/gain-photo) on held-out photo crops:
                         the same table and a grid per bucket
    grid_*.png           evaluation grids per bucket
    saved_model/         the exported model (uint8 image + mask in, uint8 image out)
    inpainted/           held-out images inpainted by the exported model, with their masks
    run/                 checkpoints and TensorBoard logs (tensorboard --logdir demo_out/run)

The demo works to a deadline, ``--minutes`` (default 10): unless ``--steps`` is given, a timed
warm-up of the training step (its tracing timed apart) fixes the step count and the cosine schedule
over it, so that training takes about ``--train_minutes`` (6) and the whole run ends in time on a
slow machine as on a fast one; the line it prints says what it chose.

Re-running reuses what is there (data, records, a finished training run of the same settings;
an interrupted one resumes; a run of other settings is moved aside to ``run-<time>``, never
overwritten: :meth:`gain_tf.run_dir.RunDir.plan`).
"""
from __future__ import annotations

import os
import time

from absl import app, flags

from experiments import no_extra_args

FLAGS = flags.FLAGS


def define_flags():
    """Defines this tool's flags (called by ``__main__`` only, so modules import cleanly): the
    demo's own, and one per config field, defaulting to the ``demo`` preset's recipe."""
    from gain_tf import config
    config.define_flags(preset="demo")
    flags.adopt_module_key_flags(config)        # listed by --help, not only --helpfull
    flags.DEFINE_string("data", None, "A folder of your own images (default: built-in scenes).")
    flags.DEFINE_string("output_dir", "demo_out", "Where everything is written.")
    flags.DEFINE_integer("num_train", 2000, "Built-in training scenes.")
    flags.DEFINE_integer("num_eval", 64, "Held-out images per hole-ratio bucket.")
    flags.DEFINE_integer("seed", 0, "Seed of data, weights and masks.")
    flags.DEFINE_float("minutes", 10.0, "Deadline of the whole demo: unless --steps is given, the "
                       "step count is fitted to it by a timed warm-up.")
    flags.DEFINE_integer("intra_op_threads", 1, "Threads inside one op: 1 with one op per core side "
                         "by side trains the demo's small convolutions fastest (docs/training.md).")
    flags.DEFINE_integer("inter_op_threads", 0, "Ops run side by side (0 = one per core).")
    flags.DEFINE_float("train_minutes", 6.0, "Training time aimed at (within --minutes) when "
                       "--steps is not given.")


_START = [time.time()]
# Crops of the 8 held-out photos of data_prep/photos.csv (licences in its LICENCES.md), committed.
def _heldout_photos():
    from gain_tf import REPO_ROOT
    return os.path.join(REPO_ROOT, "data_prep", "heldout_photos")


def say(message):
    """A progress line with the time since the demo started."""
    print(f"[demo {time.time() - _START[0]:4.0f}s] {message}", flush=True)


def train(out, records, config, seed, fit=None):
    """Trains ``config`` in ``out/run``; ``fit=(deadline_s, train_minutes)`` first fits its step
    count to the time (a timed warm-up, :func:`~gain_tf.train.timing.fit_steps`) unless a run is
    there to reuse or resume (its steps are kept: :meth:`~gain_tf.run_dir.RunDir.plan`,
    ``free=("steps",)``)."""
    import tensorflow as tf

    from gain_tf.data import training_dataset_fn
    from gain_tf.run_dir import RunDir
    from gain_tf.train import Trainer, TrainOptions
    from gain_tf.train.timing import fit_steps, time_train_step
    run = RunDir(os.path.join(out, "run"))
    plan = run.plan(config, free=("steps",) if fit is not None else ())
    config = plan.config
    if plan.note:
        say(plan.note)
    if plan.action == "new" and fit is not None:
        rate, trace_s = time_train_step(config, os.path.join(records, "train-*.tfrecord"), seed)
        deadline_s, train_minutes = fit
        steps, line = fit_steps(rate, trace_s, deadline_s - (time.time() - _START[0]), train_minutes)
        config = config.replace(steps=steps)
        say(line)
    tf.keras.utils.set_random_seed(seed)
    steps = config.optim.steps
    options = TrainOptions(model_dir=run.path, seed=seed, log_every=20,
                           image_every=max(steps // 5, 1), checkpoint_every=max(steps // 5, 1))
    trainer = Trainer(config, options)
    size = config.data.image_size
    if plan.action != "reuse":
        say(f"training the {config.name} config for {steps} steps "
            f"({size}x{size}, batch {config.data.batch_size})")
    t0 = time.time()
    if trainer.train(training_dataset_fn(config, os.path.join(records, "train-*.tfrecord"),
                                         seed=seed)):
        took = time.time() - t0
        say(f"trained in {took / 60:.1f} min ({steps / took:.1f} steps/s with the tracing; "
            "fewer steps if it resumed)")
    return trainer.generator


def inpaint_heldout(inpainter, heldout, inp_dir, size, seed, count=8):
    """Held-out images with seeded 30-40 % masks, inpainted by ``inpainter`` (the exported model)
    through the CLI's code path; writes ``<name>_mask.png`` and ``<name>_inpainted.png``."""
    from gain_tf.data import eval_dataset
    from gain_tf.inference import inpaint_arrays
    from gain_tf.images import to_uint8, write_png
    from gain_tf.masks import hole_mask_from_valid
    for batch in eval_dataset(heldout, size, (0.3, 0.4), count=count, seed=seed + 7, batch_size=count):
        images = to_uint8(batch["image"].numpy())
        holes = hole_mask_from_valid(batch["valid"].numpy())
        for image, hole, name in zip(images, holes, batch["filename"].numpy()):
            stem = os.path.splitext(os.path.basename(name.decode()))[0]
            write_png(os.path.join(inp_dir, f"{stem}_mask.png"), hole[..., 0])
            write_png(os.path.join(inp_dir, f"{stem}_inpainted.png"), inpaint_arrays(inpainter, image, hole))


def pictures(out, generator, inpainter, heldout, size, seed, count=64):
    """demo_grid.png and mask_shrinkage.png from held-out examples (30-60 % holes): six images
    spread evenly over the first ``count`` held-out images, two per bucket."""
    import numpy as np
    import tensorflow as tf

    from gain_tf.data import eval_dataset
    from gain_tf.evaluation import baselines
    from gain_tf.evaluation.protocol import GREY_PER_UNIT, gradient_pictures
    from gain_tf.images import to_uint8, write_png
    from gain_tf.masks import hole_mask_from_valid
    from gain_tf.pictures import make_grid, masked_input_picture
    rows, example = [], None
    for k, bucket in enumerate([(0.3, 0.4), (0.4, 0.5), (0.5, 0.6)]):
        # six different images spread over the held-out set, two for each bucket
        batch = next(iter(eval_dataset(heldout, size, bucket, count=count, seed=seed,
                                       batch_size=count)))
        n = int(batch["image"].shape[0])
        pick = [min(n - 1, (2 * k + j) * n // 6) for j in (0, 1)]
        batch = {key: tf.gather(value, pick) for key, value in batch.items()}
        gt = to_uint8(batch["image"].numpy())
        valid = batch["valid"].numpy()
        gain = inpainter.inpaint(gt, hole_mask_from_valid(valid))
        telea = baselines.inpaint_telea(gt, valid)
        pred = generator(generator.guidance.serving_inputs(batch["image"], batch["valid"]))
        for i in range(gt.shape[0]):    # |∇I| and |∇I*| on the truth's scale, as evaluation draws them
            rows.append([masked_input_picture(gt[i], valid[i]), gain[i], telea[i], gt[i],
                         *gradient_pictures(gt[i], pred["gradient"][i].numpy() * GREY_PER_UNIT)])
        if k == 0:
            example = (gt[0], valid[0])
    zoom = max(1, 192 // size)  # small demo images are enlarged (nearest) to be seen
    big = lambda im: np.repeat(np.repeat(im, zoom, 0), zoom, 1)
    rows = [[big(im) for im in row] for row in rows]
    write_png(os.path.join(out, "demo_grid.png"), make_grid(
        rows, ["masked input", "GAIN", "Telea", "ground truth", "|grad| truth", "|grad| GAIN"]))
    from experiments.shrinkage import shrinkage
    _, strip = shrinkage(generator, *example, tile=max(size, 192))
    write_png(os.path.join(out, "mask_shrinkage.png"), strip)


def shipped_model_section(out, seed, count=96):
    """The shipped model (models/gain-photo) on the committed held-out photo crops against Telea and
    Navier–Stokes: ``<out>/shipped/results.md`` and a grid per bucket; returns the table or ``None``
    when the model or the crops are not in this checkout."""
    from gain_tf.evaluation import protocol
    from gain_tf.inference import load_saved_model, shipped_model
    heldout = _heldout_photos()
    try:
        model = load_saved_model(shipped_model())
    except FileNotFoundError as e:
        say(f"{e}; the shipped model's section is skipped")
        return None
    shipped = os.path.join(out, "shipped")
    say(f"the shipped model on {count} held-out photo crops per bucket, against Telea and Navier-Stokes")
    with open(os.devnull, "w") as quiet:
        protocol.evaluate(model.inpaint_scored, heldout, shipped, model.training_size,
                          num_images=count, seed=seed, num_grid=4, progress_stream=quiet,
                          about={"model": model.source, "data": heldout})
    with open(os.path.join(shipped, "results.md")) as f:
        return f.read()


def run_demo(output_dir="demo_out", data=None, config=None, num_train=2000, num_eval=64, seed=0,
             minutes=None, train_minutes=6.0, shipped_images=96):
    """The whole demo (see the module docstring) with ``config`` (default: the ``demo`` preset);
    returns ``output_dir``. With ``minutes``, the config's step count is replaced by one fitted
    to end the demo within that many minutes (training at most ``train_minutes``). The shipped
    model's section scores it on ``shipped_images`` held-out photo crops per bucket (0: skipped)."""
    t0 = _START[0] = time.time()
    out = output_dir
    os.makedirs(out, exist_ok=True)
    from data_prep.demo_data import prepare_data
    from gain_tf.config import get_config
    from gain_tf.evaluation import protocol
    from gain_tf.export import export_saved_model
    from gain_tf.inference import load_saved_model
    config = config or get_config("demo")
    image_size = config.data.image_size
    records, heldout = prepare_data(out, data, image_size, num_train, num_eval, seed, say)
    shipped_table = shipped_model_section(out, seed, shipped_images) if shipped_images else None
    generator = train(out, records, config, seed,
                      fit=None if minutes is None else (minutes * 60.0, train_minutes))
    say("exporting the SavedModel")
    saved = export_saved_model(generator, os.path.join(out, "saved_model"))
    inpainter = load_saved_model(saved)
    say(f"evaluating on held-out images ({num_eval} per bucket) "
          "against Telea and Navier-Stokes")
    protocol.evaluate(inpainter.inpaint, heldout, out, image_size, num_images=num_eval,
                      seed=seed, num_grid=4, about={"model": saved, "data": heldout})
    say("inpainting held-out images with the exported model")
    inpaint_heldout(inpainter, heldout, os.path.join(out, "inpainted"), image_size, seed)
    pictures(out, generator, inpainter, heldout, image_size, seed, num_eval)
    print(open(os.path.join(out, "results.md")).read())
    if shipped_table:
        print("The shipped model (models/gain-photo) on held-out photos:\n" + shipped_table)
    took = (time.time() - t0) / 60
    say(f"done in {took:.1f} min{'' if minutes is None else f' (deadline {minutes:.0f} min)'}. "
        "Look at:\n"
          f"  {out}/demo_grid.png       masked input | GAIN | Telea | truth | gradient magnitudes\n"
          f"  {out}/mask_shrinkage.png  how the holes shrink block by block\n"
          f"  {out}/results.md          the table (also results.csv)\n"
          f"  {out}/inpainted/          held-out images inpainted by the exported model\n"
          f"  {out}/shipped/            the shipped photo model against Telea and Navier-Stokes\n"
          f"  tensorboard --logdir {out}/run")
    return out


def main(argv):
    no_extra_args(argv)
    import tensorflow as tf

    from gain_tf.config import config_from_flags
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads or os.cpu_count())
    timed = not FLAGS["steps"].present  # --steps given: train exactly that many
    run_demo(FLAGS.output_dir, FLAGS.data, config_from_flags(), FLAGS.num_train, FLAGS.num_eval,
             FLAGS.seed, minutes=FLAGS.minutes if timed else None,
             train_minutes=FLAGS.train_minutes)
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
