"""SavedModel export of a trained generator, checked against the in-memory model before it replaces anything.

The signatures are :mod:`gain_tf.serving`'s. ``serving_default`` is
``(image uint8 [N,H,W,3], mask uint8 [N,H,W,1]) -> {inpainted uint8 [N,H,W,3], gradient float32
[N,H,W,C]}``, any H and W, loadable with plain ``tf.saved_model.load`` (no gain_tf import). A
second signature, ``fill_order`` (same inputs), returns the same two outputs and, from the same
generator run, branch 1's mask after each block, ``masks`` float32 ``[N,K,H',W']`` (1 = known,
on the ``1/2**num_downsamples`` grid of the padded input) and ``blocks`` string ``[K]``: how GAIN
fills the hole;
``guidance='edge'`` models compute their edge input inside the graph, so they export like the
others.
"""
from __future__ import annotations

import glob
import os
import shutil
import tempfile
import uuid

import numpy as np
import tensorflow as tf
from absl import logging

from gain_tf.images import give_usual_mode
from gain_tf.inference import build_generator
from gain_tf.run_dir import CONFIG_FILE
from gain_tf.serving import FILL_ORDER_KEY, SIGNATURE_KEY, make_serving_fn, make_views_fn

_OLD = ".old-"  # suffix of a previous export moved aside while the new one is renamed in


class _ServingModule(tf.Module):
    """What the SavedModel holds besides its signatures: the generator's variables (not the Keras
    model: nothing Keras needs to be deserialised) and the config JSON as a string variable.

    The serving functions are not its attributes: ``tf.saved_model.save`` traces a module's
    ``tf.function`` attributes once more for their own entries, which doubled the export's time
    and ``saved_model.pb``; as signatures only, each is traced once."""

    def __init__(self, generator):
        super().__init__(name="gain_inpainter")
        self.generator_variables = list(generator.variables)
        self.config_json = tf.Variable(generator.config.to_json(), trainable=False, dtype=tf.string,
                                       name="config_json")
        self.multiple = tf.Variable(generator.config.model.multiple, trainable=False, dtype=tf.int32,
                                    name="multiple")


def _serving_fns(generator):
    """The two signatures' ``tf.function`` objects: ``serving_default``'s and ``fill_order``'s."""
    return make_serving_fn(generator), make_views_fn(generator)


def _check_example(multiple: int, seed: int = 0):
    """One 1 x (multiple+3) x (multiple+5) random image with a rectangular hole (uint8, hole = 255)."""
    rng = np.random.default_rng(seed)
    h, w = multiple + 3, multiple + 5
    image = rng.integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    mask = np.zeros((1, h, w, 1), np.uint8)
    mask[0, h // 4:h // 4 + max(2, h // 3), w // 3:w // 3 + max(2, w // 3)] = 255
    return image, mask


def export_saved_model(generator, export_dir: str) -> str:
    """Exports ``generator`` as a SavedModel at ``export_dir`` (see the module doc) and returns it.

    Written to a temporary sibling folder, loaded back with ``tf.saved_model.load`` and checked on
    one odd-sized example against the in-memory function (``RuntimeError`` if they differ); only then
    renamed into place, replacing an existing export. ``config.json`` is written beside
    ``saved_model.pb`` as well. A failure at any point leaves the previous export in place; what
    a kill leaves behind is repaired by the next export (:func:`recover_interrupted_export`).
    """
    config = generator.config
    if not generator.built:
        build_generator(generator)
    export_dir = os.path.abspath(export_dir.rstrip("/\\"))
    parent = os.path.dirname(export_dir)
    os.makedirs(parent, exist_ok=True)
    recover_interrupted_export(export_dir)
    tmp = tempfile.mkdtemp(dir=parent, prefix=os.path.basename(export_dir) + ".tmp-")
    old = None
    try:
        serve, views = _serving_fns(generator)
        image, mask = _check_example(config.model.multiple)
        expected = serve(image=tf.constant(image), mask=tf.constant(mask))
        tf.saved_model.save(_ServingModule(generator), tmp, signatures={
            SIGNATURE_KEY: serve.get_concrete_function(),
            FILL_ORDER_KEY: views.get_concrete_function()})
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            f.write(config.to_json())
        loaded = tf.saved_model.load(tmp)
        got = loaded.signatures[SIGNATURE_KEY](image=tf.constant(image), mask=tf.constant(mask))
        for key in ("inpainted", "gradient"):
            a, b = expected[key].numpy(), got[key].numpy()
            if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b):
                diff = (np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
                        if a.shape == b.shape else f"shapes {a.shape} vs {b.shape}")
                raise RuntimeError(f"{export_dir}: the reloaded SavedModel's '{key}' differs from the "
                                   f"in-memory model (max difference {diff}); export aborted")
        del loaded
        if os.path.exists(export_dir):
            old = f"{export_dir}{_OLD}{uuid.uuid4().hex[:8]}"
            os.replace(export_dir, old)
        give_usual_mode(tmp)
        os.replace(tmp, export_dir)  # between the two renames, the previous export is at `old`
    except BaseException:
        if old is not None and not os.path.exists(export_dir):
            os.replace(old, export_dir)  # put the previous export back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return export_dir


def recover_interrupted_export(export_dir: str) -> list:
    """Repairs what an export killed half-way leaves beside ``export_dir``, and returns the
    actions taken: a previous export moved aside (``<dir>.old-*``) while ``export_dir`` is
    missing is moved back (killed between the two renames); other ``.old-*`` folders and every
    ``.tmp-*`` folder (an unfinished export) are removed."""
    export_dir = os.path.abspath(export_dir.rstrip("/\\"))
    actions = []
    olds = sorted(glob.glob(glob.escape(export_dir) + _OLD + "*"), key=os.path.getmtime)
    if olds and not os.path.exists(export_dir):
        os.replace(olds.pop(), export_dir)
        actions.append(f"restored the previous export to {export_dir}")
    for path in olds + glob.glob(glob.escape(export_dir) + ".tmp-*"):
        shutil.rmtree(path, ignore_errors=True)
        actions.append(f"removed {path}")
    for action in actions:
        logging.warning("interrupted export: %s", action)
    return actions
