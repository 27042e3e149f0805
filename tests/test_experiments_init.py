"""experiments/__init__.py: TensorFlow's three import-time cuDNN / cuFFT / cuBLAS "Unable to register
factory" lines (2.15), the cuInit failure of a machine without a CUDA driver and the early info
lines (2.16+) are dropped for every command (whatever else goes to stderr passes); no entry point
takes words after its flags, and each one's --help lists the flags shared helpers define."""
import os
import re
import subprocess
import sys

import pytest

from experiments import _noise, stderr_without

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_only_the_matching_lines_are_dropped(capfd):
    with stderr_without(re.compile(rb"Unable to register cu(DNN|FFT|BLAS) factory")):
        os.write(2, b"E cuda_dnn.cc:9261] Unable to register cuDNN factory: already registered\n"
                    b"E real.cc:1] a real error\n")
        os.write(2, b"E cuda_blas.cc:1515] Unable to register cuBLAS factory: already registered\n")
    err = capfd.readouterr().err
    assert err == "E real.cc:1] a real error\n"


NO_DRIVER = b"I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\n"
CUINIT = b"E0000 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)\n"


@pytest.mark.parametrize("driver", [False, True], ids=["no_driver", "driver"])
def test_the_cuinit_failure_is_dropped_only_on_a_machine_without_a_driver(capfd, monkeypatch, driver):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")     # info lines kept (make exports 2)
    with stderr_without(_noise):
        os.write(2, (b"" if driver else NO_DRIVER) + CUINIT + b"E real.cc:1] a real error\n")
    err = capfd.readouterr().err.encode()
    assert err == (CUINIT if driver else NO_DRIVER) + b"E real.cc:1] a real error\n"


@pytest.mark.parametrize("level", ["0", "2"])
def test_early_info_lines_follow_the_log_level(capfd, monkeypatch, level):
    """TensorFlow 2.21 writes its first I-lines before reading TF_CPP_MIN_LOG_LEVEL."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
    banner = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    info = b"I0000 00:00:1796500573.593914    2147 port.cc:153] oneDNN custom operations are on.\n"
    error = b"E0000 00:00:1796500573.6    2147 real.cc:1] a real error\n"
    with stderr_without(_noise):
        os.write(2, banner + info + error)
    assert capfd.readouterr().err.encode() == (error if level == "2" else banner + info + error)


@pytest.mark.parametrize("module", ["experiments.train", "data_prep.build_tfrecords"])
def test_a_command_run_directly_prints_no_tensorflow_info_lines(module):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", f"import {module}, tensorflow as tf; "
                           "print(tf.constant(2) + 1)"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "oneDNN custom operations" not in done.stderr and "cuInit" not in done.stderr, done.stderr


def test_importing_tensorflow_after_the_package_prints_no_factory_lines():
    """What every ``python -m experiments.<command>`` does before it first imports TensorFlow
    (``--help`` imports no TensorFlow, so an import is run here)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")   # the lines are E-lines: shown at 0 to 2
    done = subprocess.run([sys.executable, "-c", "import experiments.train, tensorflow as tf; "
                           "print(tf.constant(2) + 1)"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "tf.Tensor(3" in done.stdout
    assert "Unable to register" not in done.stderr, done.stderr
    assert "failed call to cuInit" not in done.stderr, done.stderr


def test_an_entry_point_refuses_words_after_its_flags():
    from absl import app

    from experiments import no_extra_args
    no_extra_args(["evaluate"])
    with pytest.raises(app.UsageError, match="unexpected arguments: photo.png extra"):
        no_extra_args(["evaluate", "photo.png", "extra"])


@pytest.mark.parametrize("command,flags", [("train", ["--config", "--steps", "--batch_size", "--clip_norm"]),
                                           ("evaluate", ["--model_dir", "--saved_model", "--checkpoint"]),
                                           ("inpaint", ["--model", "--model_dir", "--saved_model"])])
def test_help_lists_the_flags_defined_by_shared_helpers(command, flags):
    """absl's ``--help`` shows the main module's key flags only; the config's and the model flags
    are defined in other modules, so each entry point adopts them (else only ``--helpfull`` did)."""
    done = subprocess.run([sys.executable, "-m", f"experiments.{command}", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    listed = set(re.findall(r"^\s+(--\w+):", done.stdout, re.M))
    assert set(flags) <= listed, sorted(listed)


def test_stderr_filtered_keeps_what_was_written_before_an_abort():
    """A converter that dies inside the block (a C++ check failure aborts) must not take its last
    words with it: the filter process passes every kept line on as it comes."""
    code = ("import os, re\n"
            "from experiments import stderr_filtered\n"
            "with stderr_filtered(re.compile(rb'^noise')):\n"
            "    os.write(2, b'noise line\\nF0000 check failed: the real reason\\n')\n"
            "    os.abort()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert done.stderr == "F0000 check failed: the real reason\n"
