"""RunDir, and run folders of gain-tf 0.1 (flat config.json, attention before attention_mode):
a committed fixture, written by that version, still resumes, exports and evaluates."""
import json
import os
import shutil

import numpy as np
import pytest

from gain_tf.config import get_config
from gain_tf.run_dir import RunDir

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "run_v0_1")


def test_layout_config_and_done_marker(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    assert run.changed_fields(get_config("tiny")) == []          # no config.json yet
    run.write_config(get_config("tiny"))
    assert run.read_config() == get_config("tiny")
    assert run.changed_fields(get_config("tiny", steps=9, guidance="none")) == [
        "guidance", "mask_priority", "steps"]
    run.write_config(get_config("paper"))                        # never overwrites...
    assert run.read_config().name == "tiny"
    run.write_config(get_config("paper"), overwrite=True)         # ...unless asked to
    assert run.read_config().name == "paper"
    run.write_config(get_config("tiny"), overwrite=True)
    assert not run.is_done()
    run.mark_done({"steps": 9})
    assert run.is_done() and json.load(open(run.done_path)) == {"steps": 9}
    run.clear_done()
    assert not run.is_done()
    assert run.config_path.endswith("run/config.json") and run.log_dir.endswith("run/train")
    with pytest.raises(FileNotFoundError, match=r"run/checkpoints: no checkpoint"):
        run.latest_checkpoint()
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        RunDir(str(tmp_path / "nope")).read_config()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text('{"model": {"guidance": "sketch"}}')
    with pytest.raises(ValueError, match=r"bad/config\.json: not a valid GAINConfig.*guidance"):
        RunDir(str(tmp_path / "bad")).read_config()


def test_plan_reuses_a_finished_run(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    assert run.plan(get_config("tiny")).action == "new"         # nothing there
    run.write_config(get_config("tiny", steps=120))
    run.mark_done({"steps": 120})
    plan = run.plan(get_config("tiny", steps=120))
    assert (plan.action, plan.config, plan.moved_to) == ("reuse", get_config("tiny", steps=120), None)
    # The timed demo lets the step count differ: the finished run's own steps are kept.
    plan = run.plan(get_config("tiny", steps=700), free=("steps",))
    assert plan.action == "reuse" and plan.config.optim.steps == 120
    assert os.path.exists(run.config_path)                       # nothing moved


def test_plan_resumes_an_unfinished_run_of_the_same_settings(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    run.write_config(get_config("tiny", steps=120))              # no done.json: interrupted
    plan = run.plan(get_config("tiny", steps=120))
    assert plan.action == "resume" and plan.config == get_config("tiny", steps=120)
    plan = run.plan(get_config("tiny", steps=700), free=("steps",))
    assert plan.action == "resume" and plan.config.optim.steps == 120
    assert os.path.exists(run.config_path)


def test_plan_moves_a_run_of_other_settings_aside(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    run.write_config(get_config("tiny", steps=120))
    run.mark_done({"steps": 120})
    batch = get_config("tiny").data.batch_size + 1
    plan = run.plan(get_config("tiny", steps=120, batch_size=batch), free=("steps",))
    assert plan.action == "new" and plan.config.data.batch_size == batch
    assert "batch_size" in plan.note and plan.moved_to in plan.note
    assert not os.path.exists(run.path)                          # the folder is free...
    assert RunDir(plan.moved_to).read_config() == get_config("tiny", steps=120)  # ...the run kept
    run.write_config(get_config("tiny"))
    again = run.plan(get_config("tiny", steps=9))                 # steps not free: moved too,
    assert again.action == "new" and again.moved_to != plan.moved_to  # within the same second
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in (plan.moved_to,
                                                                                  again.moved_to))


def test_flat_config_of_version_0_1_reads_as_it_was_trained(caplog):
    config = RunDir(FIXTURE).read_config()
    assert "written by gain-tf 0.1" in caplog.text and "outputs differ" in caplog.text
    flat = json.load(open(os.path.join(FIXTURE, "config.json")))
    assert "model" not in flat and "attention_mode" not in flat
    assert config.model.attention_mode == "exact"                # its attention then
    assert config.model.dilations == (2, 4) and config.optim.steps == 2
    assert config.optim.lr_decay == "cosine" and config.data.masks == "free_form"
    for key, value in flat.items():
        assert config.flat()[key] == (tuple(value) if isinstance(value, list) else value), key


def test_old_run_folder_resumes_exports_and_evaluates(tmp_path):
    from gain_tf.data import training_dataset_fn
    from gain_tf.evaluation import protocol
    from gain_tf.export import export_saved_model
    from gain_tf.inference import load_generator, load_saved_model
    from gain_tf.synthetic import write_scene_folder
    from gain_tf.train import Trainer, TrainOptions
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    scenes = str(tmp_path / "scenes")
    write_scene_folder(scenes, 8, size=32, seed=0)
    config = RunDir(str(run)).read_config()
    assert Trainer(config, TrainOptions(model_dir=str(run))).changed_config_fields() == []
    longer = config.replace(steps=3)                              # train one step more
    with pytest.raises(ValueError, match=r"differs in steps.*--allow_config_change"):
        Trainer(longer, TrainOptions(model_dir=str(run), progress=False)).train(
            training_dataset_fn(longer, scenes))
    trainer = Trainer(longer, TrainOptions(model_dir=str(run), progress=False,
                                           allow_config_change=True))
    trainer.train(training_dataset_fn(longer, scenes))            # resumed at 2
    assert RunDir(str(run)).read_config() == longer               # config.json rewritten
    assert int(trainer.step.numpy()) == 3 and trainer.manager.latest_checkpoint.endswith("ckpt-3")
    generator = load_generator(str(run))
    assert generator.attention.mode == "exact"
    inpainter = load_saved_model(export_saved_model(generator, str(tmp_path / "export")))
    assert inpainter.config.model.attention_mode == "exact"
    rows = protocol.evaluate(inpainter.inpaint, scenes, str(tmp_path / "eval"), 32,
                             [(0.2, 0.3)], num_images=4, seed=0, num_grid=0)
    gain = [r for r in rows if r["method"] == "GAIN"][0]
    assert np.isfinite(gain["psnr"]) and gain["n"] == 4
