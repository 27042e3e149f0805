"""Loading a trained generator, the one pad / run / crop / composite code path, and SavedModel export.

* :func:`load_generator` builds a :class:`GAINGenerator` from ``<model_dir>/config.json`` and
  restores **only** its weights from the trainer's checkpoint (``<model_dir>/checkpoints``).
* :func:`inpaint_graph` is the single implementation of "inpaint uint8 images of any size":
  pad bottom / right (symmetric, i.e. mirrored including the edge pixel, for any pad size) up to
  ``config.multiple``, run G, crop back, and composite with the **original uint8 pixels**:
  ``inpainted = where(hole, to_uint8(I*), image)``, so known pixels come back bit-exact. Masks at
  this boundary follow the user convention (non-zero = hole), converted with
  :func:`gain_tf.masks.valid_from_hole_mask` (threshold 0).
* :func:`make_serving_fn` wraps it in a ``tf.function`` for an in-memory generator;
  :func:`export_saved_model` saves the same function as a SavedModel whose ``serving_default``
  signature is ``(image uint8 [N,H,W,3], mask uint8 [N,H,W,1]) -> {inpainted uint8 [N,H,W,3],
  gradient float32 [N,H,W,2]}``, loadable with plain ``tf.saved_model.load`` (no gain_tf import).
* :class:`Inpainter` / :func:`load_inpainter` give the CLI tools one callable for either a
  SavedModel or a checkpoint, and :func:`inpaint_arrays` runs one on numpy arrays.

``guidance='edge'`` models compute their guidance input, the masked Canny map of the padded input,
inside the graph (:func:`gain_tf.edges.masked_canny`, TensorFlow ops equal to OpenCV's Canny), so
they export like the others; their ``gradient`` output is the predicted edge map ``[N,H,W,1]``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from gain_tf.config import GAINConfig
from gain_tf.images import to_model_range, to_uint8
from gain_tf.masks import valid_from_hole_mask

CONFIG_FILE = "config.json"
CHECKPOINT_SUBDIR = "checkpoints"
SIGNATURE_KEY = "serving_default"
SERVING_SIGNATURE = (tf.TensorSpec([None, None, None, 3], tf.uint8, name="image"),
                     tf.TensorSpec([None, None, None, 1], tf.uint8, name="mask"))


# --------------------------------------------------------------------------------------- loading
def read_config(model_dir: str) -> GAINConfig:
    """The :class:`GAINConfig` of ``<model_dir>/config.json``; errors name the missing path."""
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"{model_dir}: model directory not found")
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (training writes the model's config there)")
    try:
        with open(path) as f:
            return GAINConfig.from_json(f.read())
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"{path}: not a valid GAINConfig ({type(e).__name__}: {e})") from None


def find_checkpoint(model_dir: str, checkpoint: Optional[str] = None) -> str:
    """The checkpoint prefix to restore: ``checkpoint`` (a prefix or a folder) or the latest one in
    ``<model_dir>/checkpoints``. Raises ``FileNotFoundError`` naming the path when there is none."""
    if checkpoint:
        if os.path.isdir(checkpoint):
            found = tf.train.latest_checkpoint(checkpoint)
            if not found:
                raise FileNotFoundError(f"{checkpoint}: no checkpoint found in this directory")
            return found
        if not os.path.isfile(checkpoint + ".index"):
            raise FileNotFoundError(f"{checkpoint}: no such checkpoint (no {checkpoint}.index)")
        return checkpoint
    ckpt_dir = os.path.join(model_dir, CHECKPOINT_SUBDIR)
    found = tf.train.latest_checkpoint(ckpt_dir) if os.path.isdir(ckpt_dir) else None
    if not found:
        raise FileNotFoundError(f"{ckpt_dir}: no checkpoint found (train the model first, or pass --checkpoint)")
    return found


def build_generator(generator, size: Optional[int] = None) -> None:
    """Creates the generator's variables by running it once on a blank ``size`` x ``size`` input."""
    c = generator.config
    size = size or 4 * c.multiple
    inputs = [tf.zeros((1, size, size, 3)), tf.ones((1, size, size, 1))]
    if c.guidance == "edge":
        inputs.append(tf.zeros((1, size, size, 1)))
    generator(tuple(inputs), training=False)


def load_generator(model_dir: str, checkpoint: Optional[str] = None):
    """A :class:`GAINGenerator` built from ``<model_dir>/config.json`` with only its weights restored
    from ``checkpoint`` (default: the latest in ``<model_dir>/checkpoints``).

    Raises ``FileNotFoundError`` naming the path for a missing model_dir, config.json or checkpoint,
    and ``ValueError`` naming the checkpoint when its generator does not match the config.
    """
    from gain_tf.models.generator import GAINGenerator  # keep `import gain_tf.export` light

    config = read_config(model_dir)
    path = find_checkpoint(model_dir, checkpoint)
    generator = GAINGenerator(config, name="generator")
    build_generator(generator)
    try:
        status = tf.train.Checkpoint(generator=generator).restore(path).expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        msg = " ".join(str(e).split())[:300]
        raise ValueError(f"{path}: could not restore the generator from this checkpoint "
                         f"(does {os.path.join(model_dir, CONFIG_FILE)} match it?): {msg}") from None
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


def inpaint_graph(generator, image, mask, edges_fn: Optional[Callable] = None) -> dict:
    """uint8 ``image [N,H,W,3]`` and hole ``mask [N,H,W,1]`` (non-zero = hole), any H, W ->
    ``{'inpainted': uint8 [N,H,W,3], 'gradient': float32 [N,H,W,C]}`` (TF ops only).

    ``gradient`` is G's predicted guidance map, cropped: ``[N,H,W,2]`` for gradient guidance, the
    edge logits ``[N,H,W,1]`` for edge guidance, zeros ``[N,H,W,2]`` for ``guidance='none'``.
    ``edges_fn(image [-1,1], valid)`` computes the edge input of ``guidance='edge'`` models on the
    padded input.
    """
    config = generator.config
    image = tf.convert_to_tensor(image, tf.uint8)
    mask = tf.convert_to_tensor(mask, tf.uint8)
    shape = tf.shape(image)
    n, h, w = shape[0], shape[1], shape[2]
    x = to_model_range(pad_to_multiple(image, config.multiple))
    valid = valid_from_hole_mask(pad_to_multiple(mask, config.multiple), threshold=0)
    inputs = (x, valid)
    if config.guidance == "edge":
        if edges_fn is None:
            raise ValueError("guidance='edge' needs edges_fn (the masked Canny map of the input)")
        inputs = (x, valid, edges_fn(x, valid))
    out = generator(inputs, training=False)
    pred = tf.cast(out["image"], tf.float32)[:, :h, :w, :]
    inpainted = tf.where(mask > 0, to_uint8(pred), image)
    if config.guidance == "none":
        gradient = tf.zeros(tf.stack([n, h, w, 2]), tf.float32)
    else:
        gradient = tf.cast(out["gradient"], tf.float32)[:, :h, :w, :]
    return {"inpainted": inpainted, "gradient": gradient}


def _edges_fn(config: GAINConfig) -> Optional[Callable]:
    """The guidance input of ``guidance='edge'`` models (None for the others)."""
    if config.guidance != "edge":
        return None
    from gain_tf.edges import masked_canny
    return lambda x, valid: masked_canny(x, valid, config.canny_low, config.canny_high)


def make_serving_fn(generator) -> Callable:
    """The in-memory serving function: ``fn(image=uint8 [N,H,W,3], mask=uint8 [N,H,W,1])`` -> dict
    (see :func:`inpaint_graph`); a ``tf.function`` with the SavedModel's input signature."""
    edges_fn = _edges_fn(generator.config)
    return tf.function(lambda image, mask: inpaint_graph(generator, image, mask, edges_fn),
                       input_signature=SERVING_SIGNATURE, autograph=False)


# ------------------------------------------------------------------------------------ SavedModel
class _ServingModule(tf.Module):
    """What the SavedModel holds: the generator's variables (not the Keras model: nothing Keras needs
    to be deserialised), the config JSON as a string variable, and the serving function."""

    def __init__(self, generator):
        super().__init__(name="gain_inpainter")
        self.generator_variables = list(generator.variables)
        self.config_json = tf.Variable(generator.config.to_json(), trainable=False, dtype=tf.string,
                                       name="config_json")
        self.multiple = tf.Variable(generator.config.multiple, trainable=False, dtype=tf.int32,
                                    name="multiple")
        self.serve = make_serving_fn(generator)


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
    ``saved_model.pb`` as well.
    """
    config = generator.config
    if not generator.built:
        build_generator(generator)
    export_dir = os.path.abspath(export_dir.rstrip("/\\"))
    parent = os.path.dirname(export_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=os.path.basename(export_dir) + ".tmp-")
    try:
        module = _ServingModule(generator)
        image, mask = _check_example(config.multiple)
        expected = module.serve(image=tf.constant(image), mask=tf.constant(mask))
        tf.saved_model.save(module, tmp, signatures={SIGNATURE_KEY: module.serve.get_concrete_function()})
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
        old = None
        if os.path.exists(export_dir):
            old = f"{export_dir}.old-{uuid.uuid4().hex[:8]}"
            os.replace(export_dir, old)
        os.replace(tmp, export_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return export_dir


# ------------------------------------------------------------------------------- running models
class Inpainter:
    """One callable for a SavedModel or an in-memory generator:
    ``inpainter(image=uint8 [N,H,W,3], mask=uint8 [N,H,W,1])`` -> ``{'inpainted', 'gradient'}``
    tensors; :meth:`inpaint` maps numpy uint8 images and hole masks to uint8 inpainted images
    (the ``inpaint_fn`` of :func:`gain_tf.evaluation.evaluate`).

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
    """An :class:`Inpainter` for a SavedModel exported by :func:`export_saved_model`."""
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
