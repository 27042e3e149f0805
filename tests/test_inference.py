"""gain_tf.inference: the symmetric padding, loading a generator from a run folder, clear errors."""
import os

import numpy as np
import pytest
import tensorflow as tf

from gain_tf import inference
from gain_tf.config import get_config
from tests.fixtures_model import tiny_generator, tiny_model_dir


def test_pad_to_multiple_is_symmetric_for_any_size():
    x = np.arange(3 * 2).reshape(1, 3, 2, 1)
    got = inference.pad_to_multiple(tf.constant(x), 8).numpy()
    assert got.shape == (1, 8, 8, 1)
    want = np.pad(np.pad(x, ((0, 0), (0, 3), (0, 2), (0, 0)), mode="symmetric"),
                  ((0, 0), (0, 2), (0, 4), (0, 0)), mode="symmetric")
    np.testing.assert_array_equal(got, want)  # pads larger than the image mirror again
    np.testing.assert_array_equal(got[:, :3, :2], x)


def test_load_generator_restores_only_the_generator():
    g = inference.load_generator(tiny_model_dir())
    ref = tiny_generator()
    assert len(g.variables) == len(ref.variables)
    for a, b in zip(g.variables, ref.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        inference.load_generator(str(tmp_path / "nope"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty/config\.json"):
        inference.load_generator(str(empty))
    (empty / "config.json").write_text(get_config("tiny").to_json())
    with pytest.raises(FileNotFoundError, match=r"empty/checkpoints: no checkpoint"):
        inference.load_generator(str(empty))
    with pytest.raises(FileNotFoundError, match=r"ckpt-99"):
        inference.load_generator(tiny_model_dir(), checkpoint=str(tmp_path / "ckpt-99"))
    with pytest.raises(FileNotFoundError, match="not a SavedModel"):
        inference.load_saved_model(str(empty))
    # A checkpoint of another architecture: a clear error naming the checkpoint.
    (empty / "config.json").write_text(get_config("tiny", image_channels=6).to_json())
    ckpt = os.path.join(tiny_model_dir(), "checkpoints")
    with pytest.raises(ValueError, match="could not restore the generator"):
        inference.load_generator(str(empty), checkpoint=ckpt)
