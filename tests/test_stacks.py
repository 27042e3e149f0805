"""Cross-stack compatibility (docs/stacks.md): run folders and SavedModels written on one stack load on
the other and give the same outputs within float32 rounding.

Each ``tests/fixtures/stack_*`` folder was written by ``python -m tests.stack_fixture`` on the stack
its ``written_with.json`` names (``stack_ref``: Python 3.11, TensorFlow 2.15, tensorflow-addons;
``stack_modern``: Python 3.13, TensorFlow 2.21, Keras's SpectralNormalization). Every stack loads
every fixture, so both directions are checked wherever the suite runs.
"""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.inference import load_generator
from gain_tf.models import build_discriminators
from gain_tf.ops import sn
from tests import stack_fixture

FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "fixtures", "stack_*")))
# float32 rounding (here the two stacks agree bit for bit; other CPUs may round differently)
RTOL, ATOL = 1e-5, 1e-5


def _ids(path):
    return os.path.basename(path)


@pytest.fixture(scope="module", params=FIXTURES, ids=_ids)
def loaded(request):
    """``(expected, got, written_with)`` for one fixture, every model freshly restored here."""
    folder = request.param
    expected = dict(np.load(os.path.join(folder, "expected.npz")))
    with open(os.path.join(folder, "written_with.json")) as f:
        written_with = json.load(f)
    generator = load_generator(folder)   # asserts that every generator variable was restored
    d_image, d_guide = build_discriminators(generator.config)
    image, mask = stack_fixture.inputs()
    np.testing.assert_array_equal(image, expected["image"])
    np.testing.assert_array_equal(mask, expected["mask"])
    x, valid = stack_fixture.padded_inputs(generator)[:2]
    for d, c in ((d_image, 3), (d_guide, generator.guidance.channels)):   # create the variables
        d((tf.zeros(x.shape[:3] + (c,)), valid), training=False)
    ckpt = tf.train.Checkpoint(d_image=d_image, d_guide=d_guide)
    status = ckpt.restore(generator.checkpoint_path).expect_partial()
    status.assert_existing_objects_matched()   # kernels, biases and each power-iteration vector u
    got = stack_fixture.outputs(generator, d_image, d_guide, os.path.join(folder, "saved_model"))
    return expected, got, written_with


def test_fixtures_exist_for_both_stacks():
    assert {_ids(f) for f in FIXTURES} >= {"stack_ref", "stack_modern"}


def test_generator_checkpoint_gives_the_same_outputs(loaded):
    expected, got, _ = loaded
    keys = sorted(k for k in expected if k.startswith("g_"))
    assert {"g_image", "g_gradient"} <= set(keys)
    for k in keys:
        np.testing.assert_allclose(got[k], expected[k], rtol=RTOL, atol=ATOL, err_msg=k)


def test_saved_model_gives_the_same_outputs(loaded):
    expected, got, _ = loaded
    np.testing.assert_allclose(got["sm_gradient"], expected["sm_gradient"], rtol=RTOL, atol=ATOL)
    # uint8 after rounding: a value within float32 rounding of a .5 boundary may round either way
    diff = np.abs(got["sm_inpainted"].astype(int) - expected["sm_inpainted"].astype(int))
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3, (diff.max(), np.mean(diff > 0))
    hole = np.broadcast_to(expected["mask"] > 0, expected["sm_inpainted"].shape)
    np.testing.assert_array_equal(got["sm_inpainted"][~hole], expected["image"][~hole])


def test_discriminator_checkpoint_gives_the_same_scores_and_power_iteration(loaded):
    """The spectral normalisation's ``u`` crosses over too (tfa's ``u`` <-> Keras's ``vector_u``):
    a training call's power iteration from it gives the same σ, scores and new ``u``."""
    expected, got, _ = loaded
    keys = sorted(k for k in expected if k.startswith(("di_", "dg_")))
    assert len(keys) == 2 * (2 + 6)
    for k in keys:
        np.testing.assert_allclose(got[k], expected[k], rtol=RTOL, atol=ATOL, err_msg=k)


def test_the_stack_in_use_is_named():
    assert sn.IMPLEMENTATION in ("tensorflow_addons", "keras")
