"""The two stacks' set-up (docs/stacks.md): setup.cfg's pins agree with constraints/, the running
TensorFlow is the one pinned for this Python, and the Makefile picks the stack from the Python."""
import configparser
import os
import re
import shutil
import subprocess
import sys

import pytest
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODERN = sys.version_info >= (3, 12)


def _pins(path):
    out = {}
    for line in open(path):
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            out[re.sub(r"[-_.]+", "-", name.lower())] = version
    return out


def _setup_pins(modern: bool):
    """setup.cfg's exact pins that apply to the modern (python_version>="3.12") or reference stack."""
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    out = {}
    for req in cfg["options"]["install_requires"].strip().splitlines():
        spec, _, marker = req.partition(";")
        if marker and ('>="3.12"' in marker) != modern:
            continue
        if "==" in spec:
            name, version = spec.split("==")
            out[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.strip()
    return out


def test_reference_constraints_are_setup_cfgs_pins():
    ref = _pins(os.path.join(ROOT, "constraints", "reference.txt"))
    assert ref == _setup_pins(modern=False)
    assert ref["tensorflow"] == "2.15.1" and "tensorflow-addons" in ref and "tensorflow-gan" in ref


def test_modern_constraints_pin_setup_cfgs_pins_and_no_tfa_or_tfgan():
    modern = _pins(os.path.join(ROOT, "constraints", "modern.txt"))
    for name, version in _setup_pins(modern=True).items():
        assert modern[name] == version, name
    assert modern["tensorflow"] == "2.21.0" and modern["tf-keras"] == "2.21.0"
    assert not {"tensorflow-addons", "tensorflow-gan", "tensorflow-probability"} & set(modern)
    assert all(re.fullmatch(r"[\w.+!-]+", v) for v in modern.values())   # every line exact


def test_running_tensorflow_is_the_pinned_one_for_this_python():
    pins = _setup_pins(modern=MODERN)
    assert tf.__version__ == pins["tensorflow"]
    if MODERN:   # tf.keras is tf-keras 2.x, selected by gain_tf (TF_USE_LEGACY_KERAS=1)
        assert os.environ.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True")
        assert tf.keras.__name__.startswith("tf_keras")


def _make(*args, env=None):
    return subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_makefile_picks_the_stack_from_the_python():
    out = _make("which-python", f"PYTHON={sys.executable}").stdout.split()
    version = "%d.%d" % sys.version_info[:2]
    assert out[1:] == [version, "modern" if MODERN else "reference",
                       f".venv-{version}" if MODERN else ".venv"]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_makefile_without_a_supported_python_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "MAKEFLAGS", "MFLAGS")}
    env["PATH"] = os.path.join(ROOT, "no-such-dir")
    r = subprocess.run([shutil.which("make"), "-s", "venv"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    lines = (r.stdout + r.stderr).strip().splitlines()
    assert len(lines) == 1 and "python3.11 python3.13 python3.12" in lines[0], lines
