"""Trainer: learning, exact resume, the schedule over the config's steps, the NaN guard."""
import dataclasses
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.config import get_config
from gain_tf.train import Trainer, TrainingDivergedError, TrainingInterrupted, TrainOptions
from tests.train.helpers import SIZE, dataset_fn, hole_masks, make_trainer, smooth_images


def hole_l1(trainer, images, valid):
    out = trainer.generator((images, valid))
    hole = 1.0 - valid
    return float(np.sum(np.abs(out["composite"].numpy() - images) * hole) / (hole.sum() * 3))


def test_tiny_learns_to_fill_holes(tmp_path):
    images, valid = smooth_images(), hole_masks()
    trainer = make_trainer(tmp_path, learning_rate=2e-3, adv_weight=0.1)
    trainer.build(SIZE, SIZE)
    before = hole_l1(trainer, images, valid)
    trainer.train(dataset_fn(images, valid, 4), steps=80)
    after = hole_l1(trainer, images, valid)
    assert after <= 0.5 * before, (before, after)
    assert os.path.isdir(tmp_path / "train") and trainer.manager.latest_checkpoint


def test_done_is_written_when_the_schedule_ends_not_when_stopped_early(tmp_path):
    from gain_tf.run_dir import RunDir
    images, valid = smooth_images(), hole_masks()
    make_trainer(tmp_path, steps=2).train(dataset_fn(images, valid, 4), steps=1)
    run = RunDir(str(tmp_path))
    assert not run.is_done() and run.plan(run.read_config()).action == "resume"
    make_trainer(tmp_path, steps=2).train(dataset_fn(images, valid, 4))
    assert run.is_done() and run.plan(run.read_config()).action == "reuse"


def test_mixed_precision_trainer_restores_the_global_policy(tmp_path):
    """Trainer(mixed_precision=True) builds float16 models, then puts the caller's policy back;
    the priority (MaskShrink) stays float32."""
    from gain_tf.layers.mask_shrink import MaskShrink
    before = tf.keras.mixed_precision.global_policy().name
    try:
        trainer = Trainer(get_config("tiny", image_size=SIZE, batch_size=4),
                          TrainOptions(model_dir=str(tmp_path), mixed_precision=True))
        assert tf.keras.mixed_precision.global_policy().name == before == "float32"
        trainer.build(SIZE, SIZE)
        assert tf.keras.mixed_precision.global_policy().name == "float32"
        assert trainer.generator.compute_dtype == "float16"
        assert trainer.d_image.compute_dtype == "float16"
        shrinks = [l for l in trainer.generator.submodules if isinstance(l, MaskShrink)]
        assert shrinks and all(l.compute_dtype == "float32" for l in shrinks)
        out = trainer.generator(trainer.generator.example_inputs(SIZE, SIZE))
        assert out["composite"].dtype == tf.float32
    finally:
        tf.keras.mixed_precision.set_global_policy(before)


def test_resume_is_exact(tmp_path, capsys):
    """6 steps straight == 3 steps, a restart from the checkpoint in a fresh process state, Ctrl-C
    after step 4 (which saves it), a restart, 2 more (with the cosine learning-rate schedule, whose
    position must resume too)."""
    tf.config.experimental.enable_op_determinism()
    images, valid = smooth_images(seed=1), hole_masks()
    fn = dataset_fn(images * np.float32(0.9), valid, 4)
    kw = dict(lr_decay="cosine", steps=6, learning_rate=1e-3, l1_hole_weight=6.0)
    straight = make_trainer(tmp_path / "a", **kw)
    straight.train(fn, steps=3)  # writes ckpt-3 on the way, then goes on without a restart
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    schedule = straight.g_optimizer._learning_rate  # cosine to 0 over the config's 6 steps
    for k, factor in ((0, 1.0), (3, 0.5), (6, 0.0)):
        np.testing.assert_allclose(float(schedule(k)), 1e-3 * factor, atol=1e-9)
    straight.train(fn, steps=6)
    again = make_trainer(tmp_path / "b", init_seed=123, **kw)  # other init: all comes from ckpt-3
    step_once = again.train_step

    def ctrl_c_before_step_5(batch):
        if int(again.step.numpy()) == 4:
            raise KeyboardInterrupt
        return step_once(batch)

    again.train_step = ctrl_c_before_step_5
    with pytest.raises(TrainingInterrupted) as e:   # step 4 saved on the way out
        again.train(fn, steps=6)
    assert e.value.step == 4 and e.value.checkpoint == str(tmp_path / "b" / "checkpoints" / "ckpt-4")
    again.train_step = step_once                    # the same command again: resumes from ckpt-4
    again.options = dataclasses.replace(again.options, progress=True)
    capsys.readouterr()
    again.train(fn, steps=6)
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("train  ")]
    assert lines[0].startswith("train  5/6  ") and lines[-1].startswith("train  6/6  "), lines
    assert len(lines) == len(set(x.split("  ")[1] for x in lines))   # no count printed twice
    assert int(again.step.numpy()) == 6 and int(straight.step.numpy()) == 6
    models = lambda t: [t.generator, t.d_image, t.d_guide]
    for m1, m2 in zip(models(straight), models(again)):
        for v1, v2 in zip(m1.weights, m2.weights):
            np.testing.assert_array_equal(v1.numpy(), v2.numpy(), err_msg=v1.name)
    for o1, o2 in ((straight.g_optimizer, again.g_optimizer), (straight.d_optimizer, again.d_optimizer)):
        for v1, v2 in zip(o1.variables, o2.variables):
            np.testing.assert_array_equal(v1.numpy(), v2.numpy())


def test_resuming_with_another_schedule_names_the_changed_fields(tmp_path):
    images, valid = smooth_images(seed=4), hole_masks()
    make_trainer(tmp_path).train(dataset_fn(images, valid, 4), steps=3)
    other = make_trainer(tmp_path, lr_decay="cosine", steps=10)
    with pytest.raises(ValueError, match="lr_decay") as e:
        other.train(dataset_fn(images, valid, 4), steps=6)
    assert str(tmp_path) in str(e.value) and "steps" in str(e.value)
    # allowed, the change still cannot resume (the optimiser's schedule variables differ): the
    # error names the fields, and config.json keeps the settings its checkpoints were made with
    before = open(tmp_path / "config.json").read()
    other.options = dataclasses.replace(other.options, allow_config_change=True)
    with pytest.raises(ValueError, match="does not match.*lr_decay"):
        other.train(dataset_fn(images, valid, 4), steps=6)
    assert open(tmp_path / "config.json").read() == before


def test_a_start_that_saved_no_checkpoint_does_not_hold_its_config(tmp_path):
    """A run folder with a config.json but no checkpoint (its first start failed) takes the next
    command's settings instead of refusing them."""
    images, valid = smooth_images(seed=4), hole_masks()
    trainer = make_trainer(tmp_path, steps=3)
    failed = dataclasses.replace(trainer.config, optim=dataclasses.replace(trainer.config.optim, steps=10))
    trainer.run_dir.write_config(failed)          # what a start that failed later leaves
    trainer.train(dataset_fn(images, valid, 4), steps=1)
    assert trainer.run_dir.read_config().optim.steps == 3


def test_nan_loss_stops_with_clear_message_and_keeps_last_checkpoint(tmp_path):
    images, valid = smooth_images(seed=3), hole_masks()
    poisoned = np.stack([images] * 4)  # 4 batches of 4
    poisoned[3, 0, 0, 0, 0] = np.nan  # the 4th batch

    def fn(ctx):
        ds = tf.data.Dataset.from_tensor_slices(
            {"image": poisoned.reshape(-1, SIZE, SIZE, 3), "valid": np.concatenate([valid] * 4)})
        return ds.batch(4).repeat()

    trainer = make_trainer(tmp_path)
    with pytest.raises(TrainingDivergedError, match=r"step 4: loss \w+ is nan.*last good checkpoint"):
        trainer.train(fn, steps=10)
    assert trainer.manager.latest_checkpoint.endswith("ckpt-3")
    fresh = make_trainer(tmp_path, init_seed=7)
    fresh.build(SIZE, SIZE)
    assert fresh.restore() == 3
    assert all(np.isfinite(v.numpy()).all() for v in fresh.generator.weights)


def test_a_library_run_decays_its_schedule_over_the_configs_steps(tmp_path):
    """lr_decay='cosine' with steps=N: train() runs N steps and the schedule reaches 0 at N (the
    loop and the schedule read the one `steps`; they used to differ)."""
    images, valid = smooth_images(seed=5), hole_masks()
    trainer = make_trainer(tmp_path, lr_decay="cosine", steps=4, learning_rate=1e-3)
    trainer.train(dataset_fn(images, valid, 4))
    assert int(trainer.step.numpy()) == 4
    for opt in (trainer.g_optimizer, trainer.d_optimizer):
        assert int(opt.iterations.numpy()) == 4
        schedule = opt._learning_rate
        np.testing.assert_allclose(float(schedule(opt.iterations)), 0.0, atol=1e-12)
        np.testing.assert_allclose(float(schedule(2)), 0.5e-3, rtol=1e-6)
        # the last update used step 3's rate: (1 + cos(3π/4)) / 2 of the peak
        np.testing.assert_allclose(float(opt.learning_rate), 1e-3 * (1 - 0.5 ** 0.5) / 2, rtol=1e-5)


@pytest.mark.parametrize("value,message", [
    ("{not json", "TF_CONFIG is not valid JSON (Expecting property name enclosed in double quotes: line 1 "
                  "column 2 (char 1)); --strategy=multiworker reads the cluster from it"),
    ('["a", "b"]', "TF_CONFIG is not a JSON object; --strategy=multiworker reads the cluster from it"),
])
def test_multiworker_with_a_tf_config_that_is_not_json(monkeypatch, value, message):
    from gain_tf.train import make_strategy
    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(ValueError) as e:
        make_strategy("multiworker")
    assert str(e.value) == message


@pytest.mark.parametrize("case", ["tf_config", "data"])
def test_train_cli_bad_tf_config_or_data_prints_one_line_and_writes_nothing(tmp_path, case):
    import subprocess
    import sys

    from tests.fixtures_model import write_images
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    write_images(str(tmp_path / "photos"), 1, 40, 40)
    data = tmp_path / ("photos" if case == "tf_config" else "fotos")
    env = dict(os.environ, TF_CONFIG="{not json", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "experiments.train", "--config=tiny", "--strategy=multiworker",
                           f"--data={data}", f"--model_dir={tmp_path / 'run'}"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == (["error: TF_CONFIG is not valid JSON (Expecting property name enclosed in double "
                       "quotes: line 1 column 2 (char 1)); --strategy=multiworker reads the cluster from it"]
                      if case == "tf_config" else [f"error: {data}: no such file or directory"])
    assert not (tmp_path / "run").exists()


def test_resume_skips_seen_batches_unless_the_pipeline_is_non_deterministic():
    from gain_tf.train.trainer import _resume_at
    ds = tf.data.Dataset.range(10)
    first = lambda d: int(next(iter(d)))  # noqa: E731
    assert first(_resume_at(ds, 3)) == 3  # no options set: skipped, the exact resume
    opts = tf.data.Options()
    opts.deterministic = True
    assert first(_resume_at(ds.with_options(opts), 3)) == 3
    opts = tf.data.Options()
    opts.deterministic = False  # a fresh seed per process: skipping would only cost decoding
    assert first(_resume_at(ds.with_options(opts), 3)) == 0
    assert first(_resume_at(ds.with_options(opts), 0)) == 0


def test_clip_norm_clips_the_global_norm_before_adams_moments(tmp_path):
    """Adam's first moment after one step is (1 − β1)·g, with g scaled to norm c when ‖g‖ > c."""
    trainer = make_trainer(tmp_path, clip_norm=0.5)
    trainer.build(SIZE, SIZE)
    variables = trainer.generator.trainable_variables
    grads = [tf.ones_like(v) for v in variables]
    norm = np.sqrt(sum(int(np.prod(v.shape)) for v in variables))          # all ones: √(count)
    trainer.g_optimizer.apply_gradients(zip(grads, variables))
    momentums = [m for m in trainer.g_optimizer.variables if m.name.startswith("m/")]
    assert len(momentums) == len(variables)
    for m in momentums:
        np.testing.assert_allclose(m.numpy(), (1 - 0.5) * 0.5 / norm, rtol=1e-5)


@pytest.mark.slow
def test_clip_norm_changes_training_only_when_the_norm_exceeds_it(tmp_path):
    images, valid = smooth_images(seed=2), hole_masks()
    weights = {}
    for clip in (0.0, 1e9, 1e-3):
        trainer = make_trainer(tmp_path / f"clip{clip}", clip_norm=clip, learning_rate=1e-3)
        trainer.train(dataset_fn(images, valid, 4), steps=3)
        weights[clip] = np.concatenate([w.numpy().ravel() for w in trainer.generator.weights])
    np.testing.assert_array_equal(weights[1e9], weights[0.0])
    assert np.max(np.abs(weights[1e-3] - weights[0.0])) > 1e-4
