"""MultiWorkerMirroredStrategy across two real processes on 127.0.0.1: exact against one process,
workers in sync on the project's own pipeline, and one writer (the chief).

Each worker is its own Python process with one CPU device, one intra-op thread, a ``TF_CONFIG`` of
loopback ports picked free at run time, and a collective timeout; every process is bounded in time
and killed (with its process group) if it outlives the test.
"""
import glob
import json
import os
import re
import socket
import sys

import numpy as np
import pytest

from tests.fixtures_model import write_images
from tests.processes import Child, base_env, run_all


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def worker_envs(n, scratch):
    """Environments of an ``n``-worker loopback cluster (no chief task: worker 0 is the chief)."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(n)]}
    base = base_env(TMPDIR=str(scratch))
    return [dict(base, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                                          "index": i}}))
            for i in range(n)]


def run_processes(commands, envs, log_dir):
    """Runs the commands side by side; returns ``[(returncode, stdout, stderr, pid)]``."""
    children = [Child(cmd, env, os.path.join(log_dir, f"p{i}"))
                for i, (cmd, env) in enumerate(zip(commands, envs))]
    return [r + (c.pid,) for r, c in zip(run_all(children), children)]


def check_one_writer(model_dir, results, scratch):
    """config.json, checkpoints and TensorBoard come from the chief (worker 0) alone, and the
    other worker's scratch checkpoints were removed."""
    chief_pid = results[0][3]
    events = glob.glob(os.path.join(model_dir, "train", "events.out.tfevents.*"))
    assert len(events) == 1 and f".{chief_pid}." in os.path.basename(events[0]), events
    assert os.path.isfile(os.path.join(model_dir, "config.json"))
    assert sorted(os.listdir(os.path.join(model_dir, "checkpoints")))[0] == "checkpoint"
    assert "worker:1 is not the chief" in results[1][2]
    assert os.listdir(scratch) == [], os.listdir(scratch)


@pytest.mark.slow
def test_two_workers_equal_one_process_on_row_sharded_batches(tmp_path):
    """Two workers, each fed its rows of the same global batches, end with the weights of one
    process trained on those global batches (within 1e-5)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    module = [sys.executable, "-m", "tests.train.multiworker_worker"]
    envs = worker_envs(2, scratch)
    single_env = {k: v for k, v in envs[0].items() if k != "TF_CONFIG"}
    commands = [module + [str(tmp_path / "cluster"), "--strategy=multiworker",
                          f"--out={tmp_path}/w{i}.npz"] for i in range(2)]
    commands.append(module + [str(tmp_path / "single"), f"--out={tmp_path}/single.npz"])
    results = run_processes(commands, envs + [single_env], str(tmp_path))
    for code, out, err, _ in results:
        assert code == 0, err[-3000:]
    assert [r[1].strip().splitlines()[-1] for r in results] == ["is_chief=True", "is_chief=False",
                                                               "is_chief=True"]
    single = np.load(tmp_path / "single.npz")
    for i in range(2):
        worker = np.load(tmp_path / f"w{i}.npz")
        assert len(worker.files) == len(single.files) > 10
        for k in single.files:
            np.testing.assert_allclose(worker[k], single[k], atol=1e-5, rtol=0, err_msg=f"w{i} {k}")
    check_one_writer(str(tmp_path / "cluster"), results, scratch)


@pytest.mark.slow
def test_two_workers_on_the_real_pipeline_read_distinct_shards_and_stay_in_sync(tmp_path):
    """experiments/train.py --strategy=multiworker on a folder of 4 images: each worker reads its
    own 2 files, both end with the same weights digest (that of the chief's checkpoint), and only
    the chief writes the run folder."""
    data, scratch = tmp_path / "photos", tmp_path / "tmp"
    data.mkdir(), scratch.mkdir()
    write_images(str(data), 4, 40, 40, seed=3)
    model_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "experiments.train", "--config=tiny", "--image_size=32",
           "--batch_size=4", "--steps=2", "--checkpoint_every=2", "--log_every=1",
           "--image_every=2", f"--data={data}", f"--model_dir={model_dir}",
           "--strategy=multiworker", "--collective_timeout=120", "--intra_op_threads=1",
           "--deterministic"]
    results = run_processes([cmd, cmd], worker_envs(2, scratch), str(tmp_path))
    for code, out, err, _ in results:
        assert code == 0, err[-3000:]
    shards = []
    for i, (_, out, err, _) in enumerate(results):
        m = re.search(rf"input pipeline {i} of 2 reads 2 files: (.*)", err)
        assert m, err[-3000:]
        shards.append(set(m.group(1).split(", ")))
    assert shards[0].isdisjoint(shards[1]) and len(shards[0] | shards[1]) == 4, shards
    digests = [re.search(r"weights (sha256:\w+)", out).group(1) for _, out, _, _ in results]
    assert digests[0] == digests[1], digests
    assert "done: checkpoints in" in results[0][1] and "not the chief" in results[1][1]
    check_one_writer(str(model_dir), results, scratch)
