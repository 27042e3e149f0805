"""Running a trained GAIN: loading a generator from its run folder, and the one pad / run / crop / composite path.

* :func:`load_generator` builds a :class:`GAINGenerator` from ``<run>/config.json`` and restores
  **only** its weights from the trainer's checkpoint (:class:`gain_tf.run_dir.RunDir`).
* :func:`inpaint_graph` is the single implementation of "inpaint uint8 images of any size":
  pad bottom / right (symmetric, i.e. mirrored including the edge pixel, for any pad size) up to
  ``config.model.multiple``, run G, crop back, and composite with the **original uint8 pixels**:
  ``inpainted = where(hole, to_uint8(I*), image)``, so known pixels come back bit-exact. Masks at
  this boundary follow the user convention (non-zero = hole), converted with
  :func:`gain_tf.masks.valid_from_hole_mask` (threshold 0). The guidance computes G's extra input
  if it needs one (the masked Canny map of ``guidance='edge'`` models, in TensorFlow ops).
* :func:`make_serving_fn` wraps it in a ``tf.function`` with the SavedModel's signature
  (:mod:`gain_tf.export` saves that same function).
* :class:`Inpainter` / :func:`load_inpainter` give the CLI tools one callable for either a
  SavedModel or a checkpoint, and :func:`inpaint_arrays` runs one on numpy arrays.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from gain_tf.config import GAINConfig
from gain_tf.images import to_model_range, to_uint8
from gain_tf.masks import valid_from_hole_mask
from gain_tf.run_dir import RunDir

SIGNATURE_KEY = "serving_default"
SERVING_SIGNATURE = (tf.TensorSpec([None, None, None, 3], tf.uint8, name="image"),
                     tf.TensorSpec([None, None, None, 1], tf.uint8, name="mask"))


# --------------------------------------------------------------------------------------- loading
def build_generator(generator, size: Optional[int] = None) -> None:
    """Creates the generator's variables by running it once on a blank ``size`` x ``size`` input."""
    generator(generator.example_inputs(size or 4 * generator.config.model.multiple), training=False)


def load_generator(model_dir: str, checkpoint: Optional[str] = None):
    """A :class:`GAINGenerator` built from ``<model_dir>/config.json`` with only its weights restored
    from ``checkpoint`` (default: the latest in ``<model_dir>/checkpoints``).

    Raises ``FileNotFoundError`` naming the path for a missing model_dir, config.json or checkpoint,
    and ``ValueError`` naming the checkpoint when its generator does not match the config.
    """
    from gain_tf.models.generator import GAINGenerator
    run = RunDir(model_dir)
    config = run.read_config()
    path = run.latest_checkpoint(checkpoint)
    generator = GAINGenerator(config, name="generator")
    build_generator(generator)
    try:
        status = tf.train.Checkpoint(generator=generator).restore(path).expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        msg = " ".join(str(e).split())[:300]
        raise ValueError(f"{path}: could not restore the generator from this checkpoint "
                         f"(does {run.config_path} match it?): {msg}") from None
    generator.checkpoint_path = path
    return generator


# ------------------------------------------------------------------------- the one code path
def _symmetric_indices(n, total):
    """Indices ``0..total-1`` folded into ``0..n-1`` by mirroring (edge pixel repeated), any ``total``."""
    i = tf.range(total)
    j = i % (2 * n)
    return tf.where(j < n, j, 2 * n - 1 - j)


def pad_to_multiple(x, multiple: int):
    """Pads ``[N, H, W, C]`` bottom / right by mirroring up to multiples of ``multiple``."""
    shape = tf.shape(x)
    h, w = shape[1], shape[2]
    hp = h + (-h) % multiple
    wp = w + (-w) % multiple
    x = tf.gather(x, _symmetric_indices(h, hp), axis=1)
    return tf.gather(x, _symmetric_indices(w, wp), axis=2)


def inpaint_graph(generator, image, mask) -> dict:
    """uint8 ``image [N,H,W,3]`` and hole ``mask [N,H,W,1]`` (non-zero = hole), any H, W ->
    ``{'inpainted': uint8 [N,H,W,3], 'gradient': float32 [N,H,W,C]}`` (TF ops only).

    ``gradient`` is G's predicted guidance map, cropped: ``[N,H,W,2]`` for gradient guidance, the
    edge logits ``[N,H,W,1]`` for edge guidance, zeros ``[N,H,W,2]`` for ``guidance='none'``.
    """
    multiple = generator.config.model.multiple
    image = tf.convert_to_tensor(image, tf.uint8)
    mask = tf.convert_to_tensor(mask, tf.uint8)
    shape = tf.shape(image)
    n, h, w = shape[0], shape[1], shape[2]
    x = to_model_range(pad_to_multiple(image, multiple))
    valid = valid_from_hole_mask(pad_to_multiple(mask, multiple), threshold=0)
    out = generator(generator.guidance.serving_inputs(x, valid), training=False)
    pred = tf.cast(out["image"], tf.float32)[:, :h, :w, :]
    inpainted = tf.where(mask > 0, to_uint8(pred), image)
    if "gradient" in out:
        gradient = tf.cast(out["gradient"], tf.float32)[:, :h, :w, :]
    else:                                                   # no guidance stream
        gradient = tf.zeros(tf.stack([n, h, w, 2]), tf.float32)
    return {"inpainted": inpainted, "gradient": gradient}


def make_serving_fn(generator) -> Callable:
    """The in-memory serving function: ``fn(image=uint8 [N,H,W,3], mask=uint8 [N,H,W,1])`` -> dict
    (see :func:`inpaint_graph`); a ``tf.function`` with the SavedModel's input signature."""
    return tf.function(lambda image, mask: inpaint_graph(generator, image, mask),
                       input_signature=SERVING_SIGNATURE, autograph=False)



# ------------------------------------------------------------------------------- running models
class Inpainter:
    """One callable for a SavedModel or an in-memory generator:
    ``inpainter(image=uint8 [N,H,W,3], mask=uint8 [N,H,W,1])`` -> ``{'inpainted', 'gradient'}``
    tensors; :meth:`inpaint` maps numpy uint8 images and hole masks to uint8 inpainted images
    (the ``inpaint_fn`` of :func:`gain_tf.evaluation.protocol.evaluate`).

    ``config`` is the model's :class:`GAINConfig` (``None`` if unknown), ``source`` a description.
    """

    def __init__(self, fn: Callable, config: Optional[GAINConfig] = None, source: str = "", keep=None):
        self._fn = fn
        self._keep = keep  # the loaded SavedModel object must outlive its signature function
        self.config = config
        self.source = source

    def __call__(self, image, mask):
        return self._fn(image=tf.convert_to_tensor(image, tf.uint8), mask=tf.convert_to_tensor(mask, tf.uint8))

    def inpaint(self, images_uint8, hole_masks_uint8) -> np.ndarray:
        return inpaint_arrays(self, images_uint8, hole_masks_uint8)

    @classmethod
    def from_generator(cls, generator, source: str = "") -> "Inpainter":
        return cls(make_serving_fn(generator), generator.config,
                   source or getattr(generator, "checkpoint_path", "") or "generator", keep=generator)


def load_saved_model(path: str) -> Inpainter:
    """An :class:`Inpainter` for a SavedModel exported by :func:`gain_tf.export.export_saved_model`."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: SavedModel directory not found")
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise FileNotFoundError(f"{path}: not a SavedModel (no saved_model.pb)")
    try:
        loaded = tf.saved_model.load(path)
        fn = loaded.signatures[SIGNATURE_KEY]
    except (KeyError, ValueError, OSError, tf.errors.OpError) as e:
        msg = " ".join(str(e).split())[:300]
        raise ValueError(f"{path}: could not load the SavedModel: {msg}") from None
    config = None
    cfg = getattr(loaded, "config_json", None)
    if cfg is not None:
        try:
            config = GAINConfig.from_json(cfg.numpy().decode())
        except (ValueError, TypeError, KeyError):
            config = None
    return Inpainter(fn, config, path, keep=loaded)


def load_inpainter(model_dir: Optional[str] = None, saved_model: Optional[str] = None,
                   checkpoint: Optional[str] = None) -> Inpainter:
    """An :class:`Inpainter` from exactly one of ``saved_model`` or ``model_dir`` (+ ``checkpoint``)."""
    if bool(model_dir) == bool(saved_model):
        raise ValueError("give exactly one of --saved_model or --model_dir")
    if saved_model:
        return load_saved_model(saved_model)
    return Inpainter.from_generator(load_generator(model_dir, checkpoint))


def inpaint_arrays(fn: Callable, image_uint8, hole_mask_uint8, return_gradient: bool = False):
    """Runs ``fn`` (an :class:`Inpainter`, a SavedModel signature or :func:`make_serving_fn`'s
    function: called as ``fn(image=..., mask=...)``) on numpy arrays.

    ``image_uint8``: ``[H,W,3]`` or ``[N,H,W,3]`` uint8; ``hole_mask_uint8``: ``[H,W]``,
    ``[H,W,1]`` or ``[N,H,W(,1)]`` uint8, non-zero = hole. Returns the uint8 inpainted images with
    the image's rank (and the guidance map too with ``return_gradient``).
    """
    image = np.asarray(image_uint8)
    mask = np.asarray(hole_mask_uint8)
    if image.dtype != np.uint8 or mask.dtype != np.uint8:
        raise ValueError(f"expected uint8 image and mask, got {image.dtype} and {mask.dtype}")
    single = image.ndim == 3
    if single:
        image = image[None]
        mask = mask[None]
    if image.ndim != 4 or image.shape[-1] != 3:
        raise ValueError(f"expected an RGB image [H,W,3] or batch [N,H,W,3], got shape {np.asarray(image_uint8).shape}")
    if mask.ndim == 3:
        mask = mask[..., None]
    if mask.ndim != 4 or mask.shape[-1] != 1 or mask.shape[:3] != image.shape[:3]:
        raise ValueError(f"mask shape {np.asarray(hole_mask_uint8).shape} does not match image shape "
                         f"{np.asarray(image_uint8).shape}")
    if isinstance(fn, Inpainter):
        out = fn(image, mask)
    else:
        out = fn(image=tf.constant(image), mask=tf.constant(mask))
    result = out["inpainted"].numpy()
    gradient = out["gradient"].numpy()
    if single:
        result, gradient = result[0], gradient[0]
    return (result, gradient) if return_gradient else result
