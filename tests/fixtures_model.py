"""A tiny GAIN model saved the way the Trainer saves one, shared by the export / inpaint / evaluate tests.

``tiny_model_dir()`` builds ``get_config('tiny')`` with seeded random weights (non-zero biases, so
outputs are not trivially flat), writes ``<dir>/config.json`` and saves
``tf.train.Checkpoint(generator=g, step=...)`` through a ``CheckpointManager`` into
``<dir>/checkpoints``. Built once per process (cached), removed at exit.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import numpy as np

_CACHE: dict = {}


def seeded_generator(config, seed: int, bias_seed: int):
    """A built ``GAINGenerator`` of ``config``: weights from ``seed``, and biases drawn from
    N(0, 0.1) with ``bias_seed`` (Keras starts them at zero, which would hide bias bugs)."""
    import tensorflow as tf

    from gain_tf.inference import build_generator
    from gain_tf.models.generator import GAINGenerator

    tf.keras.utils.set_random_seed(seed)
    g = GAINGenerator(config, name="generator")
    build_generator(g)
    rng = np.random.default_rng(bias_seed)
    for v in g.trainable_variables:
        if "bias" in v.name:
            v.assign(rng.normal(0.0, 0.1, v.shape).astype(np.float32))
    return g


def tiny_model_dir() -> str:
    """Path of the cached fake model_dir (config.json + checkpoints/)."""
    if "model_dir" in _CACHE:
        return _CACHE["model_dir"]
    import tensorflow as tf

    from gain_tf.config import get_config
    from gain_tf.images import atomic_write_bytes

    root = tempfile.mkdtemp(prefix="gain-tiny-model-")
    atexit.register(shutil.rmtree, root, True)
    model_dir = os.path.join(root, "model")
    config = get_config("tiny")
    g = seeded_generator(config, seed=0, bias_seed=1)
    atomic_write_bytes(os.path.join(model_dir, "config.json"), config.to_json().encode())
    step = tf.Variable(7, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(step=step, generator=g)
    tf.train.CheckpointManager(ckpt, os.path.join(model_dir, "checkpoints"), max_to_keep=2).save(checkpoint_number=7)
    _CACHE["model_dir"] = model_dir
    _CACHE["generator"] = g
    return model_dir


def tiny_generator():
    """The in-memory generator whose weights :func:`tiny_model_dir` saved."""
    tiny_model_dir()
    return _CACHE["generator"]


def write_images(directory: str, count: int, height: int, width: int, seed: int = 0) -> list:
    """``count`` smooth random RGB PNGs (``img_0.png`` ...) in ``directory``; returns the paths."""
    import cv2

    from gain_tf.images import write_png

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        small = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3)).astype(np.uint8)
        img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        img = np.clip(img.astype(np.int32) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
        path = os.path.join(directory, f"img_{i}.png")
        write_png(path, img)
        paths.append(path)
    return paths


def tiny_export_dir() -> str:
    """The tiny model exported once through ``experiments/export.py``'s flags and ``main`` (cached)."""
    if "export_dir" in _CACHE:
        return _CACHE["export_dir"]
    from absl import flags

    from experiments import export as export_cli

    model_dir = tiny_model_dir()
    export_dir = os.path.join(os.path.dirname(model_dir), "export", "tiny")
    fv = flags.FlagValues()
    export_cli.define_flags(fv)
    argv = fv(["export", f"--model_dir={model_dir}", f"--export_dir={export_dir}"])
    code = export_cli.main(argv, fv)
    if code != 0:
        raise RuntimeError(f"experiments.export exited with {code}")
    _CACHE["export_dir"] = export_dir
    return export_dir


def random_batch(n: int, height: int, width: int, seed: int = 0):
    """``(uint8 images [n,H,W,3], uint8 hole masks [n,H,W,1] with 255 = hole)``, a box hole + strokes each."""
    from gain_tf.masks import bucket_mask, hole_mask_from_valid

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, height, width, 3), dtype=np.uint8)
    holes = np.stack([hole_mask_from_valid(bucket_mask((0.2, 0.3), i, height, width, seed)) for i in range(n)])
    return images, holes


def tiny_inpainter():
    """An in-memory :class:`gain_tf.inference.Inpainter` of the tiny generator (traced once, cached)."""
    if "inpainter" not in _CACHE:
        from gain_tf.inference import Inpainter

        _CACHE["inpainter"] = Inpainter.from_generator(tiny_generator())
    return _CACHE["inpainter"]


DEMO_MODEL = os.path.join(os.path.dirname(__file__), "fixtures", "demo_tiny")


def demo_inpainter():
    """The `make demo` model (tiny, trained 2 500 steps at 64×64), committed as a fixture (cached)."""
    if "demo" not in _CACHE:
        from gain_tf.inference import Inpainter, load_generator

        _CACHE["demo"] = Inpainter.from_generator(load_generator(DEMO_MODEL))
    return _CACHE["demo"]


def scene_with_holes(size: int, seed: int = 11):
    """``(uint8 synthetic scene [size,size,3], uint8 hole [size,size], 255 = hole)``: one box hole,
    and a second one in images of 120 px and more."""
    from gain_tf.synthetic import generate_scenes
    image = generate_scenes(1, size=size, seed=seed)[0]
    hole = np.zeros((size, size), np.uint8)
    hole[10:18, 8:20] = 255
    if size >= 120:
        hole[100:108, 90:110] = 255
    return image, hole
