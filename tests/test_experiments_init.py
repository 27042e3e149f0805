"""experiments/__init__.py: TensorFlow's three import-time cuDNN / cuFFT / cuBLAS "Unable to register
factory" lines are dropped for every command (whatever else goes to stderr passes), and no
entry point takes words after its flags."""
import os
import re
import subprocess
import sys

import pytest

from experiments import stderr_without

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_only_the_matching_lines_are_dropped(capfd):
    with stderr_without(re.compile(rb"Unable to register cu(DNN|FFT|BLAS) factory")):
        os.write(2, b"E cuda_dnn.cc:9261] Unable to register cuDNN factory: already registered\n"
                    b"E real.cc:1] a real error\n")
        os.write(2, b"E cuda_blas.cc:1515] Unable to register cuBLAS factory: already registered\n")
    err = capfd.readouterr().err
    assert err == "E real.cc:1] a real error\n"


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


def test_an_entry_point_refuses_words_after_its_flags():
    from absl import app

    from experiments import no_extra_args
    no_extra_args(["evaluate"])
    with pytest.raises(app.UsageError, match="unexpected arguments: photo.png extra"):
        no_extra_args(["evaluate", "photo.png", "extra"])
