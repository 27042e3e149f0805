"""gain_tf.evaluation.fid: the Fréchet distance against scipy (and, where tensorflow-gan imports, our
own D × D form against tensorflow-gan's), FID end to end on local weights, and Inception weights
that are missing, corrupt or unloadable."""
import logging
import math

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.evaluation import fid
from gain_tf.ops import tfgan_eval
from tests.evaluation.references import ref_fid


def test_frechet_distance_matches_scipy():
    rs = np.random.RandomState(3)
    a1 = rs.normal(size=(300, 16))
    a2 = rs.normal(loc=0.3, scale=1.2, size=(300, 16)) + 0.2 * rs.normal(size=(1, 16))
    ref = ref_fid(a1, a2)
    got = fid.frechet_distance(a1, a2)  # N >= D: the D × D form (tensorflow-gan's where it imports)
    assert isinstance(got, float)
    assert got == pytest.approx(ref, rel=1e-3)
    assert fid.frechet_distance(a1, a2, method="tfgan") == pytest.approx(ref, rel=1e-3)
    assert fid.frechet_distance(a1, a2, method="gram") == pytest.approx(ref, rel=1e-6)
    assert abs(fid.frechet_distance(a1, a1)) < 1e-3
    assert abs(fid.frechet_distance(a1, a1, method="gram")) < 1e-3


def test_frechet_gram_form_equals_tfgan_for_few_samples():
    rs = np.random.RandomState(4)
    a1 = rs.normal(size=(20, 64))
    a2 = rs.normal(loc=0.1, size=(25, 64))
    tfgan_val = fid.frechet_distance(a1, a2, method="tfgan")
    assert fid.frechet_distance(a1, a2) == pytest.approx(tfgan_val, rel=1e-6)  # auto -> gram
    assert fid.frechet_distance(a1, a2) == pytest.approx(ref_fid(a1, a2), rel=1e-3)


def _activations(seed, n1, n2, d):
    """Fixed activations: a standard normal set and a shifted, scaled, correlated one."""
    rs = np.random.RandomState(seed)
    a1 = rs.normal(size=(n1, d))
    a2 = rs.normal(loc=0.3, scale=1.2, size=(n2, d)) @ (np.eye(d) + 0.1 * rs.normal(size=(d, d)))
    return a1, a2


CASES = [(3, 300, 300, 16), (7, 500, 400, 64), (4, 20, 25, 64)]   # the last with N < D (rank-deficient)


@pytest.mark.parametrize("case", CASES)
def test_own_frechet_distance_matches_scipy(case):
    a1, a2 = _activations(*case)
    assert tfgan_eval.own_frechet_distance(a1, a2) == pytest.approx(ref_fid(a1, a2), rel=1e-6)
    # d(a, a) = 0 up to round-off (√ of round-off eigenvalues when N < D): 1e-6 of Tr Σ
    assert abs(tfgan_eval.own_frechet_distance(a1, a1)) < 1e-6 * np.trace(np.cov(a1, rowvar=False))


@pytest.mark.skipif(tfgan_eval.tfgan is None, reason="tensorflow-gan does not import here "
                    "(TensorFlow >= 2.16): only our Fréchet distance exists on this stack (checked "
                    "against scipy above)")
@pytest.mark.parametrize("case", CASES)
def test_own_frechet_distance_equals_tensorflow_gans(case):
    a1, a2 = _activations(*case)
    ref = tfgan_eval.tfgan_frechet_distance(a1, a2)
    assert tfgan_eval.own_frechet_distance(a1, a2) == pytest.approx(ref, rel=1e-6)
    assert tfgan_eval.frechet_distance_from_activations(a1, a2) == ref   # the entry point uses it


def test_frechet_implementation_follows_the_import():
    assert tfgan_eval.IMPLEMENTATION == ("tensorflow_gan" if tfgan_eval.tfgan is not None else "own")


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                              input_shape=(299, 299, 3))
    path = str(tmp_path_factory.mktemp("inception") / "inception_v3_random_notop.h5")
    model.save_weights(path)
    return path


@pytest.mark.slow
def test_fid_end_to_end_with_local_weights(inception_weights):
    incep = fid.load_inception(inception_weights, batch_size=2)  # 3 images: a full and a partial batch
    assert isinstance(incep, fid.InceptionActivations)
    rs = np.random.RandomState(5)
    real = rs.randint(0, 256, (3, 48, 64, 3)).astype(np.uint8)
    fake = np.clip(real.astype(int) + rs.randint(-60, 61, real.shape), 0, 255).astype(np.uint8)
    a_real, a_fake = incep(real), incep(fake)
    assert a_real.shape == (3, 2048) and a_real.dtype == np.float64
    assert np.all(np.isfinite(a_real)) and np.all(a_real >= 0)  # pool3 after ReLU
    value = fid.frechet_distance(a_real, a_fake)
    assert math.isfinite(value) and value >= 0.0


def test_load_inception_missing_or_corrupt_skips_with_note(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    assert fid.load_inception("") is None
    assert fid.load_inception(None) is None
    missing = str(tmp_path / "nope.h5")
    assert fid.load_inception(missing) is None
    assert "nope.h5" in caplog.text
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"this is not an HDF5 file")
    assert fid.load_inception(str(corrupt)) is None
    assert "corrupt.h5" in caplog.text
    assert caplog.text.count("FID skipped") == 4


def test_load_inception_unloadable_weights_skip_with_note(tmp_path, caplog, monkeypatch):
    """A valid HDF5 file Keras cannot load (e.g. another architecture's weights) is skipped too."""
    def refuse(**kwargs):
        raise ValueError("Layer count mismatch when loading weights from file")

    monkeypatch.setattr(tf.keras.applications, "InceptionV3", refuse)
    caplog.set_level(logging.WARNING)
    path = tmp_path / "other_net.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))  # HDF5 signature, rest irrelevant here
    assert fid.load_inception(str(path)) is None
    assert "other_net.h5" in caplog.text and "Layer count mismatch" in caplog.text
