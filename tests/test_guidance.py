"""Guidance modes: channels, G's inputs, loss targets, pipeline and serving inputs, per mode."""
import numpy as np
import pytest
import tensorflow as tf

from gain_tf import edges
from gain_tf.config import get_config
from gain_tf.guidance import EdgeGuidance, Guidance, GradientGuidance, guidance_for
from gain_tf.layers.gradient import gradient_input, image_gradient


def batch(n=2, size=16, seed=0):
    rng = np.random.default_rng(seed)
    image = np.full((n, size, size, 3), -0.5, np.float32)
    image[:, :, size // 2:] = 0.6
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    valid = np.ones((n, size, size, 1), np.float32)
    valid[:, 4:10, 3:12] = 0.0
    return {"image": tf.constant(image), "valid": tf.constant(valid)}


def test_each_config_gets_its_mode():
    assert type(guidance_for(get_config("tiny"))) is GradientGuidance
    assert type(guidance_for(get_config("tiny", guidance="none"))) is Guidance
    edge = guidance_for(get_config("tiny", guidance="edge", canny_low=20, canny_high=60).model)
    assert type(edge) is EdgeGuidance and (edge.low, edge.high) == (20, 60)
    assert [guidance_for(get_config("tiny", guidance=g)).channels
            for g in ("gradient", "edge", "none")] == [2, 1, 0]


def test_gradient_mode():
    b, g = batch(), GradientGuidance()
    np.testing.assert_array_equal(g.generator_input(b["image"], b["valid"]).numpy(),
                                  gradient_input(b["image"], b["valid"]).numpy())
    np.testing.assert_array_equal(g.target(b).numpy(), image_gradient(b["image"]).numpy())
    assert len(g.generator_inputs(b)) == 2 and g.add_to_batch(b) is b
    assert len(g.example_inputs(8)) == 2


def test_edge_mode_computes_its_input_in_the_pipeline_and_at_serving():
    b, g = batch(), EdgeGuidance(100, 200)
    full = g.add_to_batch(b)
    masked = edges.masked_canny(b["image"], b["valid"], 100, 200).numpy()
    np.testing.assert_array_equal(full["edges"].numpy(), masked)
    assert masked.sum() > 0 and set(np.unique(masked)) <= {0.0, 1.0}
    np.testing.assert_array_equal(g.target(full).numpy(),
                                  edges.canny(b["image"], 100, 200).numpy())
    serve = g.serving_inputs(b["image"], b["valid"])
    assert len(serve) == 3 and len(g.generator_inputs(full)) == 3
    np.testing.assert_array_equal(serve[2].numpy(), masked)
    np.testing.assert_array_equal(g.generator_input(b["image"], b["valid"], full["edges"]).numpy(),
                                  masked * b["valid"].numpy())
    with pytest.raises(ValueError, match="edge map"):
        g.generator_input(b["image"], b["valid"])


def test_none_mode_has_no_stream():
    b, g = batch(), Guidance()
    assert g.generator_input(b["image"], b["valid"]).shape == (2, 16, 16, 0)
    assert g.target(b) is None and g.channels == 0
