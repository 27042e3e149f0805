"""The export's rename window under fault injection: a failure between the two renames leaves the
previous export in place and loadable, and what a kill there leaves is repaired by the next run.

The previous export is the real tiny one (built once per process); the export that fails holds a
stand-in serving module (an identity with the serving signature), so that the write, reload, check
and renames around it run as they do, without tracing and saving the generator once more."""
import glob
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from gain_tf import export as E
from tests.fixtures_model import random_batch, tiny_export_dir, tiny_generator


def siblings(export_dir):
    return sorted(os.path.basename(p) for p in glob.glob(f"{export_dir}.*"))


def serve(export_dir):
    image, mask = random_batch(1, 32, 32, seed=4)
    m = tf.saved_model.load(str(export_dir))
    return m.signatures["serving_default"](image=tf.constant(image), mask=tf.constant(mask))[
        "inpainted"].numpy()


def identity_serving(generator):
    """In place of ``export._serving_fns``: both signatures take the inputs and pass the image
    through."""
    spec = (tf.TensorSpec([None, None, None, 3], tf.uint8, name="image"),
            tf.TensorSpec([None, None, None, 1], tf.uint8, name="mask"))
    identity = lambda image, mask: {"inpainted": image, "gradient": tf.zeros_like(mask, tf.float32)}
    return tuple(tf.function(identity, input_signature=spec, autograph=False) for _ in range(2))


def test_failure_between_the_renames_keeps_the_previous_export(tmp_path, monkeypatch):
    export_dir = tmp_path / "gain"
    shutil.copytree(tiny_export_dir(), export_dir)  # the previous export
    (export_dir / "previous.txt").write_text("the first export")
    before = serve(export_dir)
    real, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new export's rename into place: the old one is aside by now
            assert siblings(export_dir)[0].startswith("gain.old-") and not export_dir.exists()
            raise OSError(28, "No space left on device (injected)")
        return real(src, dst)

    monkeypatch.setattr(E.os, "replace", failing_replace)
    monkeypatch.setattr(E, "_serving_fns", identity_serving)
    with pytest.raises(OSError, match="injected"):
        E.export_saved_model(tiny_generator(), str(export_dir))
    assert len(calls) == 3 and calls[2][1] == str(export_dir)  # the third puts the old one back
    assert (export_dir / "previous.txt").read_text() == "the first export"
    np.testing.assert_array_equal(serve(export_dir), before)
    assert siblings(export_dir) == []


def test_the_next_export_repairs_what_a_kill_between_the_renames_left(tmp_path, monkeypatch):
    export_dir = tmp_path / "gain"
    # killed after the first rename: the previous export aside, the new one still in .tmp-
    shutil.copytree(tiny_export_dir(), f"{export_dir}.old-1a2b3c4d")
    os.makedirs(f"{export_dir}.tmp-k1lled/variables")
    os.makedirs(f"{export_dir}.tmp-again")

    def failing(generator):  # the next export fails at once: the repair must have happened before
        raise RuntimeError("next export failed (injected)")

    monkeypatch.setattr(E, "_serving_fns", failing)
    with pytest.raises(RuntimeError, match="injected"):
        E.export_saved_model(tiny_generator(), str(export_dir))
    assert siblings(export_dir) == [] and (export_dir / "saved_model.pb").exists()
    assert serve(export_dir).shape == (1, 32, 32, 3)
    assert E.recover_interrupted_export(str(export_dir)) == []
