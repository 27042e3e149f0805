"""Checks every layer must pass: config round trip, SavedModel round trip, eager == XLA."""
import numpy as np
import tensorflow as tf


def _flat(x):
    return [np.asarray(t) for t in tf.nest.flatten(x)]


def assert_close(a, b, atol=1e-5):
    for x, y in zip(_flat(a), _flat(b)):
        np.testing.assert_allclose(x, y, atol=atol, rtol=0)


def check_config_round_trip(layer, inputs):
    """A layer rebuilt from its config, with the same weights, gives the same outputs."""
    out = layer(inputs)
    clone = layer.__class__.from_config(layer.get_config())
    clone(inputs)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    assert_close(clone(inputs), out)


def check_saved_model_round_trip(layer, inputs, tmp_path):
    """tf.saved_model.save / load of a module calling the layer gives the same outputs."""
    out = layer(inputs)
    module = tf.Module()
    module.layer = layer
    specs = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), inputs)
    module.serve = tf.function(lambda *args: layer(args if len(args) > 1 else args[0]),
                               input_signature=list(specs) if isinstance(inputs, tuple) else [specs])
    path = str(tmp_path / "saved")
    tf.saved_model.save(module, path)
    loaded = tf.saved_model.load(path)
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    assert_close(loaded.serve(*args), out)


def check_jit(layer, inputs, atol=1e-5):
    """Eager and tf.function(jit_compile=True) outputs agree."""
    eager = layer(inputs)
    xla = tf.function(lambda x: layer(x), jit_compile=True)(inputs)
    assert_close(xla, eager, atol=atol)
