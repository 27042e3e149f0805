"""Warm start: a wider generator computes the narrow one's outputs, then its new channels learn."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.config import get_config
from gain_tf.models import GAINGenerator
from gain_tf.train import TrainOptions, Trainer
from gain_tf.train.warm_start import widen_generator
from tests.train.helpers import SHALLOW, SIZE, dataset_fn, hole_masks, make_trainer, smooth_images


def _random_generator(config, seed):
    """A built generator with its seeded initial kernels and random biases (so their copy is
    checked too), on random inputs with holes."""
    tf.keras.utils.set_random_seed(seed)
    g = GAINGenerator(config)
    inputs = g.example_inputs(SIZE, batch=2)
    rng = np.random.default_rng(seed)
    image = rng.uniform(-1, 1, inputs[0].shape).astype(np.float32)
    valid = np.ones(inputs[1].shape, np.float32)
    valid[0, 6:20, 8:26], valid[1, 14:30, 2:12] = 0, 0
    inputs = (image, valid) + tuple(inputs[2:])
    g(inputs)
    for v in g.trainable_variables:
        if "bias" in v.name:
            v.assign(rng.normal(0, 0.1, v.shape).astype(np.float32))
    return g, inputs


@pytest.mark.parametrize("variant", [{}, {"fusion": "none"}, {"guidance": "edge"}])
def test_widened_generator_computes_what_the_narrow_one_does(variant):
    """4/8 -> 8/16 and -> 6/12 channels: image, gradient and every block's mask are unchanged
    (the attention and the priority run, both reading all channels), and the wider model has
    more parameters, so the new channels exist."""
    narrow_config = get_config("tiny", image_size=SIZE, **{**SHALLOW, **variant})
    assert narrow_config.model.attention and narrow_config.model.mask_priority
    old, inputs = _random_generator(narrow_config, 0)
    ref = old(inputs, return_masks=True)
    for ci, cg in ((8, 16), (6, 12)):
        new = GAINGenerator(narrow_config.replace(image_channels=ci, gradient_channels=cg))
        new(inputs)
        widen_generator(old, new)
        out = new(inputs, return_masks=True)
        assert new.count_params() > old.count_params()
        for key in ("image", "composite") + (("gradient",) if "gradient" in ref else ()):
            np.testing.assert_allclose(out[key], ref[key], rtol=1e-5, atol=1e-5,
                                       err_msg=f"{ci}/{cg} {key}")
        for (name, m), (_, m_ref) in zip(out["masks"], ref["masks"]):
            np.testing.assert_array_equal(m, m_ref, err_msg=name)


def test_widening_refuses_other_shapes_and_an_activation_whose_new_channels_would_not_learn():
    old, inputs = _random_generator(get_config("tiny", image_size=SIZE, **SHALLOW), 0)
    for change in (dict(image_channels=2), dict(attention=False), dict(content_dilation_blocks=2),
                   dict(image_channels=8, activation="relu")):
        new = GAINGenerator(old.config.replace(**change))
        new(inputs)
        with pytest.raises(ValueError, match="relu" if "activation" in change else ""):
            widen_generator(old, new)


def test_only_growing_widths_may_differ():
    from gain_tf.train.warm_start import differing_fields
    old = get_config("photo")
    assert differing_fields(old, old.replace(image_channels=8, gradient_channels=16)) == []
    assert differing_fields(old, old.replace(image_channels=2, delta=0.5, disc_kernel=3)) == [
        "image_channels (4 -> 2)", "delta (0.4 -> 0.5)", "disc_kernel (5 -> 3)"]


def test_trainer_warm_start_then_new_channels_learn(tmp_path):
    """A run started with init_from begins at step 0 with the narrow run's outputs and
    discriminators; two steps later the new channels' zero incoming weights have moved, and
    differently for each new channel."""
    images, valid = smooth_images(), hole_masks()
    narrow = make_trainer(tmp_path / "narrow")
    narrow.train(dataset_fn(images, valid, 4), steps=3)
    tf.keras.utils.set_random_seed(1)
    config = narrow.config.replace(image_channels=8, gradient_channels=16)
    wide = Trainer(config, TrainOptions(model_dir=str(tmp_path / "wide"), init_from=str(
        tmp_path / "narrow"), log_every=1, checkpoint_every=2, progress=False))
    data = dataset_fn(images, valid, 4)
    wide.train(data, steps=0)   # warm-starts and trains nothing
    np.testing.assert_allclose(wide.generator((images, valid))["image"],
                               narrow.generator((images, valid))["image"], atol=2e-5)
    for a, b in zip(wide.d_image.weights, narrow.d_image.weights):
        np.testing.assert_array_equal(a, b)
    record = json.loads((tmp_path / "wide" / "init_from.json").read_text())
    assert record["init_from"] == str(tmp_path / "narrow")
    assert record["checkpoint"].endswith(os.path.join("narrow", "checkpoints", "ckpt-3"))
    entry = wide.generator.branches["structure"][0].pconv_ii.kernel
    assert np.all(entry.numpy()[..., 4:] == 0)          # the 4 new channels start at 0
    wide.train(data, steps=2)   # no checkpoint yet: warm-starts again (the same weights), trains
    assert int(wide.step.numpy()) == 2                  # a new run: counted from 0, not 3
    moved = entry.numpy()[..., 4:]
    assert np.all(np.abs(moved).sum(axis=(0, 1, 2)) > 0)   # every new channel's inputs moved
    assert not np.allclose(moved[..., 0], moved[..., 1])
    other = Trainer(config.replace(delta=0.5), TrainOptions(
        model_dir=str(tmp_path / "other"), init_from=str(tmp_path / "narrow"), progress=False))
    with pytest.raises(ValueError, match=r"--init_from=.*narrow.*delta \(0.4 -> 0.5\)"):
        other.train(data, steps=0)
    assert not (tmp_path / "other" / "config.json").exists()


def test_init_from_errors_name_the_path(tmp_path):
    from gain_tf.train.warm_start import resolve
    with pytest.raises(FileNotFoundError, match="nowhere"):
        resolve(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="--init_from=.*empty: no checkpoint"):
        resolve(str(tmp_path / "empty"))
