"""The cross-stack fixture (docs/stacks.md): a small run folder written on one stack, loaded on the other.

``python -m tests.stack_fixture tests/fixtures/stack_ref`` (on the reference stack) or
``tests/fixtures/stack_modern`` (on the modern one) writes:

* ``config.json`` and ``checkpoints/ckpt-3``: ``tf.train.Checkpoint(step, generator, d_image,
  d_guide)`` as the trainer writes it (no optimisers, to keep it small) of :func:`config`, a
  smaller ``tiny`` with every kind of layer (partial convolutions, GAI-Blocks, the priority,
  attention, the gradient stream): seeded random weights (non-zero biases), the discriminators
  after three training calls (so their kernels are spectrally normalised and ``u`` has moved);
* ``saved_model/``: that generator exported by :func:`gain_tf.export.export_saved_model`;
* ``expected.npz``: the inputs and every output the test compares (see :func:`outputs`), as
  ``.npy`` arrays; ``written_with.json``: the versions that wrote it.

tests/test_stacks.py loads every such fixture on whichever stack runs it and compares.
"""
from __future__ import annotations

import json
import os
import platform
import sys

import numpy as np

SIZE = (2, 40, 52)   # N, H, W: not multiples of the model's 8, so padding and cropping are exercised


def config():
    """``tiny`` at half its widths, with one dilation block of one dilation per stream."""
    from gain_tf.config import get_config

    return get_config("tiny", image_channels=2, gradient_channels=4, dilations=(2,),
                      structure_dilation_blocks=1, content_dilation_blocks=1,
                      disc_channels=(4, 8, 8, 8, 8, 8))


def inputs():
    """``(image uint8 [N,H,W,3], hole mask uint8 [N,H,W,1])``: smooth images, a box and a stroke hole."""
    n, h, w = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        for c in range(3):
            wave = 127 + 100 * np.sin(xx / (5.0 + i) + c) * np.cos(yy / (7.0 + c))
            image[i, :, :, c] = np.clip(np.round(wave), 0, 255)
    mask = np.zeros((n, h, w, 1), np.uint8)
    mask[0, 10:25, 12:30] = 255
    mask[1, 20:24, 5:45] = 255
    mask[1, 5:35, 40:43] = 255
    return image, mask


def padded_inputs(generator) -> tuple:
    """The generator's inputs for :func:`inputs`, padded to the model's multiple (the
    discriminators, whose spectral normalisation fixes its input shape when built, see these too)."""
    import tensorflow as tf

    from gain_tf.serving import padded_inputs as serving_inputs

    image, mask = inputs()
    return serving_inputs(generator, tf.constant(image), tf.constant(mask))


def outputs(generator, d_image, d_guide, saved_model_dir: str) -> dict:
    """Every output compared across stacks, as numpy arrays.

    ``g_*``: the generator's outputs (``training=False``) on the padded inputs; ``sm_*``: the
    SavedModel's serving signature; ``di_eval`` / ``dg_eval``: the discriminators' scores
    (``training=False``); ``di_train`` / ``dg_train``: their scores in one training call (one
    power iteration from the restored ``u``, the kernel divided in place), then ``*_u``: each
    spectral normalisation's ``u`` after that call. The training call changes the
    discriminators, so call this on freshly restored models.
    """
    import tensorflow as tf

    from gain_tf.inference import load_saved_model

    image, mask = inputs()
    padded = padded_inputs(generator)
    out = {f"g_{k}": v.numpy() for k, v in generator(padded, training=False).items()
           if v.dtype.is_floating}
    served = load_saved_model(saved_model_dir)(image, mask)
    out["sm_inpainted"] = served["inpainted"].numpy()
    out["sm_gradient"] = served["gradient"].numpy()
    x, valid = padded[0], padded[1]
    g = out["g_gradient"]
    for name, d, data in (("di", d_image, x), ("dg", d_guide, tf.constant(g))):
        out[f"{name}_eval"] = d((data, valid), training=False).numpy()
        out[f"{name}_train"] = d((data, valid), training=True).numpy()
        for i, conv in enumerate(d.convs):
            out[f"{name}_u{i}"] = sn_vector(conv).numpy()
    return out


def sn_vector(wrapper):
    """The power-iteration vector ``u`` of either spectral normalisation (tfa ``u``, Keras ``vector_u``)."""
    return wrapper.vector_u if hasattr(wrapper, "vector_u") else wrapper.u


def write(folder: str) -> None:
    import tensorflow as tf

    import gain_tf
    from gain_tf.export import export_saved_model
    from gain_tf.images import atomic_write_bytes
    from gain_tf.models import build_discriminators
    from gain_tf.ops import sn
    from tests.fixtures_model import seeded_generator

    cfg = config()
    generator = seeded_generator(cfg, seed=3, bias_seed=4)
    d_image, d_guide = build_discriminators(cfg)
    padded = padded_inputs(generator)
    grad = generator(padded, training=False)["gradient"]
    for _ in range(3):
        d_image(padded[:2], training=True)
        d_guide((grad, padded[1]), training=True)
    os.makedirs(folder, exist_ok=True)
    atomic_write_bytes(os.path.join(folder, "config.json"), cfg.to_json().encode())
    step = tf.Variable(3, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(step=step, generator=generator, d_image=d_image, d_guide=d_guide)
    tf.train.CheckpointManager(ckpt, os.path.join(folder, "checkpoints"), max_to_keep=1).save(
        checkpoint_number=3)
    saved = export_saved_model(generator, os.path.join(folder, "saved_model"))
    out = outputs(generator, d_image, d_guide, saved)
    image, mask = inputs()
    np.savez(os.path.join(folder, "expected.npz"), image=image, mask=mask, **out)
    with open(os.path.join(folder, "written_with.json"), "w") as f:
        json.dump({"python": platform.python_version(), "tensorflow": tf.__version__,
                   "spectral_normalization": sn.IMPLEMENTATION, "gain_tf": gain_tf.__version__},
                  f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    import gain_tf  # noqa: F401  (before TensorFlow: picks tf.keras on the modern stack)
    write(sys.argv[1])
