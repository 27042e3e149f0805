"""GAINGenerator and PatchDiscriminator: the properties the spec pins, on the tiny preset."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf.config import PRESETS, get_config
from gain_tf.models import GAINGenerator, PatchDiscriminator


def holes_batch(seed=0, b=2, size=64):
    rng = np.random.default_rng(seed)
    image = rng.uniform(-1, 1, (b, size, size, 3)).astype(np.float32)
    valid = np.ones((b, size, size, 1), np.float32)
    valid[0, 10:40, 12:50] = 0.0
    valid[1, 30:60, 5:25] = 0.0
    valid[1, 2:8, 40:60] = 0.0
    return image, valid


@pytest.fixture(scope="module")
def tiny_generator():
    tf.keras.utils.set_random_seed(0)
    g = GAINGenerator(get_config("tiny"))
    image, valid = holes_batch()
    g((image, valid))
    # Random (non-zero) biases so that the properties below are not trivially met.
    for v in g.trainable_variables:
        if "bias" in v.name:
            v.assign(tf.random.normal(v.shape, stddev=0.1, seed=1))
    return g


def test_composite_keeps_known_pixels_bit_exact(tiny_generator):
    image, valid = holes_batch()
    out = tiny_generator((image, valid))
    known = np.broadcast_to(valid > 0, image.shape)
    np.testing.assert_array_equal(out["composite"].numpy()[known], image[known])
    hole = ~known
    np.testing.assert_array_equal(out["composite"].numpy()[hole], out["image"].numpy()[hole])
    assert out["gradient"].shape == (2, 64, 64, 2)


def test_no_output_changes_when_hole_pixels_change(tiny_generator):
    image, valid = holes_batch()
    rng = np.random.default_rng(5)
    image2 = np.where(valid > 0, image, rng.uniform(-1, 1, image.shape)).astype(np.float32)
    a, b = tiny_generator((image, valid)), tiny_generator((image2, valid))
    for key in ("image", "gradient"):
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


def test_image_in_range_and_masks_end_all_valid(tiny_generator):
    image, valid = holes_batch()
    out = tiny_generator((image * 5.0, valid), return_masks=True)  # push activations outward
    assert out["image"].numpy().min() >= -1.0 and out["image"].numpy().max() <= 1.0
    names = [n for n, _ in out["masks"]]
    assert names[0] == "structure_entry" and names[-1] == "output"
    assert np.all(out["masks"][-1][1].numpy() == 1.0)
    # Holes shrink monotonically inside a branch at constant resolution.
    dil = [m.numpy() for n, m in out["masks"] if n.startswith("structure_dil")]
    for a, b in zip(dil, dil[1:]):
        assert np.all(a <= b)


def test_any_size_divisible_by_the_multiple(tiny_generator):
    cfg = tiny_generator.config
    h, w = 3 * cfg.multiple, 5 * cfg.multiple
    out = tiny_generator((tf.zeros((1, h, w, 3)), tf.ones((1, h, w, 1))))
    assert out["composite"].shape == (1, h, w, 3)


def test_discriminator_shape_and_gradient():
    d = PatchDiscriminator((4, 8, 8, 8, 8, 8))
    x = tf.random.normal((2, 64, 64, 3), seed=1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        s = d((x, tf.ones((2, 64, 64, 1))), training=True)
        total = tf.reduce_sum(s)
    assert s.shape == (2, 1, 1, 8)
    g = tape.gradient(total, x).numpy()
    assert np.isfinite(g).all() and np.abs(g).sum() > 0


def test_presets_widths():
    assert (PRESETS["paper"].image_channels, PRESETS["paper"].gradient_channels) == (64, 128)
    assert (PRESETS["small"].image_channels, PRESETS["small"].gradient_channels) == (16, 32)
    assert (PRESETS["tiny"].image_channels, PRESETS["tiny"].gradient_channels) == (4, 8)
    with pytest.raises(ValueError, match="--guidance"):
        get_config("tiny", guidance="canny")
