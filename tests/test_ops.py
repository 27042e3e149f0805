"""gain_tf.ops.optional_import: the one way the wrappers import a library that may not import."""
import json
import sys

from gain_tf.ops import optional_import


def test_a_library_that_imports_is_returned():
    assert optional_import("json") is json


def test_a_missing_library_is_none():
    assert optional_import("gain_tf_no_such_library") is None


def test_a_library_that_breaks_on_import_is_none(tmp_path, monkeypatch):
    # what tensorflow-addons does on TensorFlow 2.16+: an AttributeError while importing
    (tmp_path / "gain_tf_broken_library.py").write_text(
        "import warnings\nwarnings.warn('noisy')\nraise AttributeError('no keras.src.engine')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert optional_import("gain_tf_broken_library") is None
    assert "gain_tf_broken_library" not in sys.modules
