"""GAINGenerator: the properties the README pins, and each of GAIN's mechanisms at model level."""
import numpy as np
import pytest
import tensorflow as tf

from experiments.shrinkage import branch1_holes
from gain_tf.config import PRESETS, get_config
from gain_tf.layers import PartialConv2D
from gain_tf.models import GAINGenerator


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
    h, w = 3 * cfg.model.multiple, 5 * cfg.model.multiple
    out = tiny_generator((tf.zeros((1, h, w, 3)), tf.ones((1, h, w, 1))))
    assert out["composite"].shape == (1, h, w, 3)


def test_paper_preset_builds_with_the_architecture_counts():
    """The paper's widths (64/128) built: parameters equal the hand count from the architecture,
    and the traced FLOPs of a 256² forward pass are the learned convolutions' plus < 2 % (masks,
    Sobel filters, attention)."""
    from gain_tf.flops import count_params, generator_flops
    from tests.hand_count import hand_count, hand_flops
    cfg = PRESETS["paper"]
    g = GAINGenerator(cfg)
    g((tf.zeros((1, 64, 64, 3)), tf.ones((1, 64, 64, 1))))
    assert count_params(g) == hand_count(cfg) == 224_446_390
    traced = generator_flops(g, 256, 256)
    assert 0.98 < hand_flops(cfg, 256) / traced <= 1.0, (hand_flops(cfg, 256), traced)
    with pytest.raises(ValueError, match="--guidance"):
        get_config("tiny", guidance="canny")


# ----------------------------------------------------------------------------- GAIN's mechanisms
def hole_of_ratio(size=64):
    """Two samples with about 30 % holes of different shapes (leaving attention candidates)."""
    valid = np.ones((2, size, size, 1), np.float32)
    valid[0, 16:48, 12:50] = 0.0
    valid[1, 4:28, 30:62] = 0.0
    valid[1, 40:60, 6:30] = 0.0
    return valid


def twin_generators(preset, image_channels=None, gradient_channels=None, **changes):
    """GAIN and a variant with ``changes``, sharing every weight (priority and attention have none)."""
    image, valid = holes_batch()
    widths = {k: v for k, v in dict(image_channels=image_channels,
                                    gradient_channels=gradient_channels).items() if v}
    tf.keras.utils.set_random_seed(0)
    a = GAINGenerator(get_config(preset, **widths))
    a((image, valid))
    b = GAINGenerator(get_config(preset, **widths, **changes))
    b((image, valid))
    b.set_weights(a.get_weights())
    return a, b


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_attention_changes_hole_pixels_and_sees_the_input_hole(preset):
    from tests.deepfill_reference import resize_nearest_align_corners
    image = holes_batch()[0]
    valid = hole_of_ratio()
    assert 0.29 < 1 - valid[0].mean() < 0.31 and 0.29 < 1 - valid[1].mean() < 0.31
    on, off = twin_generators(preset, attention=False)
    a, b = on((image, valid), return_masks=True), off((image, valid))
    hole = np.broadcast_to(valid == 0, image.shape)
    for n in range(2):
        assert np.abs(a["image"].numpy()[n][hole[n]] - b["image"].numpy()[n][hole[n]]).max() > 1e-3
    for out in (a, b):
        np.testing.assert_array_equal(out["composite"].numpy()[~hole], image[~hole])
    att = dict(a["masks"])["content_attention"].numpy()
    quarter = 64 // 2 ** on.config.model.num_downsamples
    for n in range(2):
        np.testing.assert_array_equal(att[n], resize_nearest_align_corners(valid[n], quarter, quarter))
    assert 0 < att.mean() < 1


def test_priority_admits_gradually_at_paper_depth():
    """A 50 % hole at 256², paper depth, tiny widths: each of the 16 priority blocks of branch 1
    admits some border pixels but not all; the ordinary update closes the rest by the last block.
    Without priority (same weights) the hole closes within the first dilation block."""
    size = 256
    yy, xx = np.mgrid[0:size, 0:size]
    gray = np.where(xx + 0.5 * yy > 200, 0.7, -0.5) + 0.3 * np.sin(yy / 9.0)
    image = np.repeat(gray[None, ..., None], 3, -1).astype(np.float32)
    valid = np.ones((1, size, size, 1), np.float32)
    lo, hi = (size - 181) // 2, (size + 181) // 2
    valid[0, lo:hi, lo:hi] = 0.0
    assert abs(1 - valid.mean() - 0.5) < 0.01
    on, off = twin_generators("paper", image_channels=4, gradient_channels=8, mask_priority=False)
    holes = [(n, int((1 - m).sum())) for n, m in branch1_holes(on, image, valid)]
    counts = [c for _, c in holes]                       # down2, then the 24 dilation blocks
    n_priority = on.config.model.mask_priority_blocks * len(on.config.model.dilations)
    assert holes[0][0] == "structure_down2" and counts[0] > 1000
    for before, after in zip(counts[:n_priority], counts[1:n_priority + 1]):
        assert 0 < after < before, counts                # gradual: some, never all, never none
    assert counts[n_priority] > 0.1 * counts[0] and counts[-1] == 0
    counts_off = [int((1 - m).sum()) for _, m in branch1_holes(off, image, valid)]
    assert counts_off[len(on.config.model.dilations)] == 0
    assert all(a >= b for a, b in zip(counts, counts_off))


def test_mixed_float16_with_xla_keeps_the_priority():
    """`tiny` with two priority dilation blocks under mixed_float16, compiled with XLA, with the
    float32 model's weights: no NaN, and the priority blocks' masks differ on at most 1 % of their
    border pixels (fp16 convolutions move S slightly, so pixels at the threshold may flip).
    A large hole used to admit nothing in fp16 (NaN priorities)."""
    image = holes_batch(size=128)[0]
    valid = np.ones((2, 128, 128, 1), np.float32)
    valid[:, 16:112, 16:112] = 0.0
    valid[1, 16:112, 80:112] = 1.0
    cfg = get_config("tiny", structure_dilation_blocks=2, mask_priority_blocks=2)
    tf.keras.utils.set_random_seed(0)
    g32 = GAINGenerator(cfg)
    ref = g32((image, valid), return_masks=True)
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        g16 = GAINGenerator(cfg)
        g16((image, valid))
    finally:
        tf.keras.mixed_precision.set_global_policy("float32")
    g16.set_weights(g32.get_weights())
    def run(i, v):
        out = g16((i, v), return_masks=True)
        return dict(out, masks=[m for _, m in out["masks"]])     # names are not tensors
    out = tf.function(run, jit_compile=True)(image, valid)
    assert all(np.isfinite(out[k].numpy()).all() for k in ("image", "gradient", "composite"))
    shrink = [b for b in g32.structure_blocks if b.mask_shrink is not None]
    names = [n for n, _ in ref["masks"]]
    differ = border = 0
    for block in shrink:
        i = names.index(block.name)
        before = ref["masks"][i - 1][1].numpy()
        ordinary = PartialConv2D(1, 3, dilation_rate=block.dilation_rate).window_sum(before) > 0
        ordinary = ordinary.numpy()
        here = int((ordinary & (before == 0)).sum())
        border += here
        differ += int((ref["masks"][i][1].numpy() != out["masks"][i].numpy()).sum())
        assert not here or (out["masks"][i].numpy() != before).any()  # fp16 admits pixels too
    print(f"fp16 vs fp32: {differ} of {border} border pixels differ")
    assert len(shrink) == cfg.model.mask_priority_blocks * len(cfg.model.dilations) and border > 500
    assert differ <= 0.01 * border, (differ, border)
