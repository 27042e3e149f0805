"""The ablation switches change exactly what they say, checked on built models and hand counts."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf.config import ABLATIONS, get_config
from gain_tf.flops import count_params
from gain_tf.models import GAINGenerator
from gain_tf.train import Trainer, TrainOptions
from tests.hand_count import hand_count

SIZE = 32


VARIANTS = ABLATIONS


def build(cfg):
    g = GAINGenerator(cfg)
    g(g.example_inputs(SIZE))
    return g


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_parameter_counts_match_hand_count(name):
    cfg = get_config("tiny", **VARIANTS[name])
    assert count_params(build(cfg)) == hand_count(cfg)


def test_switches_remove_what_they_say():
    built = {n: build(get_config("tiny", **kw)) for n, kw in VARIANTS.items()}
    # Priority and attention hold no weights: the built models have the same parameters as GAIN,
    # but no MaskShrink hook, resp. no attention layer.
    params = {n: count_params(g) for n, g in built.items()}
    assert params["mask_priority_off"] == params["gain"] == params["attention_off"]
    shrinks = lambda g: [b.name for b in g.structure_blocks if b.mask_shrink is not None]
    cfg = get_config("tiny")
    assert len(shrinks(built["gain"])) == cfg.model.mask_priority_blocks * len(cfg.model.dilations)
    assert shrinks(built["mask_priority_off"]) == [] and shrinks(built["guidance_none"]) == []
    assert built["attention_off"].attention is None and built["gain"].attention is not None
    counts = {n: hand_count(get_config("tiny", **kw)) for n, kw in VARIANTS.items()}
    assert counts["fusion_none"] < counts["gain"]
    assert counts["guidance_none"] < counts["fusion_none"]
    # Edge guidance: one guidance channel instead of two, in and out. By hand: the entry blocks'
    # Pconv_GG and Pconv_GI (5×5) of both branches lose one input channel; the output block's
    # Pconv_GG and Pconv_IG lose one output channel (with its bias).
    cfg = get_config("tiny")
    ci, cg = cfg.model.image_channels, cfg.model.gradient_channels
    expected = 2 * 25 * (cg + ci) + (9 * cg + 1) + (9 * 2 * 3 + 1)
    assert counts["gain"] - counts["guidance_edge"] == expected


def test_mask_priority_off_equals_delta_zero_bit_for_bit():
    rng = np.random.default_rng(0)
    size = 64        # holes of 9×13 and 10×6 pixels at the priority blocks' 1/4 resolution
    image = rng.uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    valid = np.ones((2, size, size, 1), np.float32)
    valid[0, 8:44, 6:58] = 0
    valid[1, 20:60, 20:44] = 0
    tf.keras.utils.set_random_seed(0)
    off = build(get_config("tiny", mask_priority=False))
    zero = build(get_config("tiny", delta=0.0))
    zero.set_weights(off.get_weights())
    a = off((image, valid), return_masks=True)
    b = zero((image, valid), return_masks=True)
    for (na, ma), (nb, mb) in zip(a["masks"], b["masks"]):
        assert na == nb
        np.testing.assert_array_equal(ma.numpy(), mb.numpy())
    np.testing.assert_array_equal(a["composite"].numpy(), b["composite"].numpy())
    shrink = build(get_config("tiny", delta=0.4))
    shrink.set_weights(off.get_weights())
    c = shrink((image, valid), return_masks=True)
    assert any(not np.array_equal(x.numpy(), y.numpy()) for (_, x), (_, y) in zip(a["masks"], c["masks"]))


def test_guidance_none_builds_no_second_discriminator(tmp_path):
    t = Trainer(get_config("tiny", guidance="none", mask_priority=False),
                TrainOptions(model_dir=str(tmp_path)))
    assert t.d_guide is None and t.discriminators == [t.d_image]
    assert "gradient" not in t.generator((tf.zeros((1, SIZE, SIZE, 3)), tf.ones((1, SIZE, SIZE, 1))))
    t2 = Trainer(get_config("tiny"), TrainOptions(model_dir=str(tmp_path / "b")))
    assert t2.d_guide is not None
