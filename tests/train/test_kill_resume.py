"""SIGKILL at any point of ``experiments/train.py``: the restarted run ends with exactly the weights
of a run that was never interrupted, and no partial checkpoint file survives the restart."""
import os
import signal
import sys

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.faults import HOLD_ENV
from gain_tf.run_dir import RunDir
from tests.fixtures_model import write_images
from tests.processes import Child, base_env, run_all

STEPS, EVERY = 8, 3  # checkpoints at steps 3, 6 and 8


def train_cmd(data, model_dir):
    return [sys.executable, "-m", "experiments.train", "--config=tiny", "--image_size=32",
            "--batch_size=2", f"--steps={STEPS}", f"--checkpoint_every={EVERY}", "--log_every=1",
            "--image_every=4", f"--data={data}", f"--model_dir={model_dir}", "--deterministic",
            "--seed=3", "--intra_op_threads=1"]


def checkpoint_values(prefix):
    """Every variable of a checkpoint (models, optimiser slots, step) by its key."""
    reader = tf.train.load_checkpoint(prefix)
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if not k.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}


@pytest.mark.slow
def test_killed_between_and_during_checkpoints_resumes_exactly(tmp_path):
    data = tmp_path / "photos"
    data.mkdir()
    write_images(str(data), 6, 40, 40, seed=1)
    ref_dir, run_dir = tmp_path / "straight", tmp_path / "killed"
    log = lambda name: str(tmp_path / name)

    # the reference runs beside the first killed run
    straight = Child(train_cmd(data, ref_dir), base_env(), log("straight"))
    held = tmp_path / "held-step"
    first = Child(train_cmd(data, run_dir), base_env(**{HOLD_ENV: f"step:4:{held}"}), log("first"))
    first.wait_for_file(held)
    first.kill()  # between checkpoints: ckpt-3 is the last one
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-3")

    held = tmp_path / "held-save"
    second = Child(train_cmd(data, run_dir), base_env(**{HOLD_ENV: f"save:6:{held}"}),
                   log("second"))
    second.wait_for_file(held)
    second.kill()  # inside the save of ckpt-6: files written, the state file not yet
    ckpt = run_dir / "checkpoints"
    assert (ckpt / "ckpt-6.index").exists()
    assert tf.train.latest_checkpoint(str(ckpt)).endswith("ckpt-3")

    (code, _, err), (code_ref, _, err_ref) = run_all(
        [Child(train_cmd(data, run_dir), base_env(), log("third")), straight])
    assert code == 0, err[-3000:]
    assert code_ref == 0, err_ref[-3000:]
    assert "removed what an interrupted save left: ckpt-6.data-00000-of-00001, ckpt-6.index" in err
    assert "resumed from" in err and "ckpt-3 at step 3" in err
    a = checkpoint_values(str(ref_dir / "checkpoints" / f"ckpt-{STEPS}"))
    b = checkpoint_values(str(ckpt / f"ckpt-{STEPS}"))
    assert a.keys() == b.keys() and len(a) > 50
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert sorted(os.listdir(ckpt)) == sorted(os.listdir(ref_dir / "checkpoints"))
    assert RunDir(str(run_dir)).remove_partial_checkpoints() == []


@pytest.mark.slow
@pytest.mark.parametrize("sig,said", [(signal.SIGINT, "interrupted"),
                                      (signal.SIGTERM, "terminated (SIGTERM)")])
def test_ctrl_c_or_sigterm_saves_the_steps_done_and_says_how_to_resume(tmp_path, sig, said):
    data = tmp_path / "photos"
    data.mkdir()
    write_images(str(data), 6, 40, 40, seed=1)
    held = tmp_path / "held-step"
    run = Child(train_cmd(data, tmp_path / "run"), base_env(**{HOLD_ENV: f"step:4:{held}"}),
                str(tmp_path / "run"))
    run.wait_for_file(held)
    os.kill(run.pid, sig)                  # Ctrl-C, or a scheduler's preemption: to the trainer alone
    code, _, err = run.wait()
    ckpt = tmp_path / "run" / "checkpoints"
    assert code == 128 + sig, err[-3000:]
    assert err.strip().splitlines()[-1] == (f"{said} at step 4: {ckpt / 'ckpt-4'} holds step 4; "
                                            "run the same command to resume")
    assert "Traceback" not in err
    assert tf.train.latest_checkpoint(str(ckpt)).endswith("ckpt-4")


def test_partial_checkpoint_files_are_removed_and_committed_ones_kept(tmp_path):
    """What a save killed at each stage leaves: the ``_temp`` shard folder, a ``checkpoint.tmp*``
    state file, or complete files the state file does not list yet."""
    step = tf.Variable(1)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(step=step),
                                         str(tmp_path / "checkpoints"), max_to_keep=3)
    manager.save(checkpoint_number=3)
    manager.save(checkpoint_number=6)
    ckpt = tmp_path / "checkpoints"
    kept = sorted(os.listdir(ckpt))
    (ckpt / "ckpt-9_temp").mkdir()
    (ckpt / "ckpt-9_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x")
    (ckpt / "checkpoint.tmp1f2e").write_text("half")
    tf.train.Checkpoint(step=step).write(str(ckpt / "ckpt-8"))  # written, never committed
    (ckpt / "notes.txt").write_text("mine")
    removed = RunDir(str(tmp_path)).remove_partial_checkpoints()
    assert removed == ["checkpoint.tmp1f2e", "ckpt-8.data-00000-of-00001", "ckpt-8.index",
                       "ckpt-9_temp"]
    assert sorted(os.listdir(ckpt)) == sorted(kept + ["notes.txt"])
    assert tf.train.latest_checkpoint(str(ckpt)).endswith("ckpt-6")
