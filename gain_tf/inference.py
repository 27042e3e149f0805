"""Running a trained GAIN: loading a model (run folder, SavedModel, TFLite or ONNX file) and the one callable that runs it.

* :func:`load_generator` builds a :class:`GAINGenerator` from ``<run>/config.json`` and restores
  **only** its weights from the trainer's checkpoint (:class:`gain_tf.run_dir.RunDir`).
* :func:`load_model` gives an :class:`Inpainter` for a SavedModel folder, a ``.tflite`` or an
  ``.onnx`` file (the last two run by :mod:`gain_tf.deploy.runtime`); :func:`load_inpainter` for a
  SavedModel or a run folder (the CLI tools' ``--saved_model`` / ``--model_dir``).
* :class:`Inpainter` runs the serving graph of :mod:`gain_tf.serving` (in memory or from a
  SavedModel); :func:`inpaint_arrays` runs one on numpy arrays. Photos of any size go through
  :func:`gain_tf.anysize.inpaint_image`.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from gain_tf import REPO_ROOT
from gain_tf.config import GAINConfig
from gain_tf.run_dir import RunDir
from gain_tf.serving import FILL_ORDER_KEY, SIGNATURE_KEY, make_serving_fn, make_views_fn

# The model shipped with the repository (models/gain-photo/MODEL_CARD.md): what the CLI and the page
# use when no model is given (:func:`shipped_model`).
SHIPPED_MODEL = os.path.join(REPO_ROOT, "models", "gain-photo")
MODEL_FORMATS = {".tflite": "tflite", ".onnx": "onnx"}   # besides a SavedModel folder


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


# ------------------------------------------------------------------------------- running models
class Inpainter:
    """One callable for a SavedModel or an in-memory generator (and, through
    :mod:`gain_tf.deploy.runtime`, a TFLite or ONNX file):
    ``inpainter(image=uint8 [N,H,W,3], mask=uint8 [N,H,W,1])`` -> ``{'inpainted', 'gradient'}``
    tensors; :meth:`inpaint` maps numpy uint8 images and hole masks to uint8 inpainted images
    and :meth:`inpaint_scored` (with the predicted gradient) are ``inpaint_fn``s of
    :func:`gain_tf.evaluation.protocol.evaluate`; :meth:`run_one` and :meth:`views` run one image
    (:func:`gain_tf.anysize.inpaint_image` calls them once per region).

    ``config`` is the model's :class:`GAINConfig` (``None`` if unknown), ``source`` a description.
    """

    def __init__(self, fn: Callable, config: Optional[GAINConfig] = None, source: str = "", keep=None,
                 fill_order_fn: Optional[Callable] = None):
        self._fn = fn
        self._keep = keep  # the loaded SavedModel object must outlive its signature function
        self.config = config
        self.source = source
        self.fill_order_fn = fill_order_fn  # None for SavedModels exported before it existed

    def __call__(self, image, mask):
        return self._fn(image=tf.convert_to_tensor(image, tf.uint8), mask=tf.convert_to_tensor(mask, tf.uint8))

    def inpaint(self, images_uint8, hole_masks_uint8) -> np.ndarray:
        return inpaint_arrays(self, images_uint8, hole_masks_uint8)

    def inpaint_scored(self, images_uint8, hole_masks_uint8):
        """:meth:`inpaint` for the evaluation protocol: ``(images, predicted ∇I*)`` when the model
        predicts the image gradient (so its gradient is scored too), else the images alone."""
        with_gradient = self.config is not None and self.config.model.guidance == "gradient"
        return inpaint_arrays(self, images_uint8, hole_masks_uint8, return_gradient=with_gradient)

    @property
    def known_size(self) -> Optional[int]:
        """The size the model is known to work at: its config's training size, or ``None`` when
        the config is unknown."""
        return self.config.data.image_size if self.config is not None else None

    @property
    def training_size(self) -> int:
        """:attr:`known_size`, or 256 when it is unknown (the size crop and resize modes aim at)."""
        return self.known_size or 256

    def run(self, images_uint8, hole_masks_uint8, views: bool = False) -> dict:
        """Images ``[N,H,W,3]`` and hole masks ``[N,H,W(,1)]`` through the serving graph in one
        generator run: ``{'inpainted': uint8 [N,H,W,3], 'gradient': float32 [N,H,W,C]}`` numpy.

        ``views=True`` adds ``fill_order``: ``(block names, masks [N, K, h', w'] float32 (1 =
        known), grid)``, branch 1's mask after each block on the model's ``1/grid`` grid of the
        padded input (``grid = 2**num_downsamples`` of its config; image ``i``'s own cells are
        ``[:ceil(H_i/grid), :ceil(W_i/grid)]``), or None when the model has no ``fill_order``
        signature. Still one run (two for SavedModels exported before ``fill_order`` returned the
        result too)."""
        image, mask = _as_batch(images_uint8, hole_masks_uint8)
        if not views or self.fill_order_fn is None:
            out = self(image, mask)
            result = {k: np.asarray(out[k]) for k in ("inpainted", "gradient")}
            return dict(result, fill_order=None) if views else result
        out = self.fill_order_fn(image=tf.constant(image), mask=tf.constant(mask))
        result = ({k: out[k].numpy() for k in ("inpainted", "gradient")} if "inpainted" in out
                  else self.run(image, mask))
        grid = 2 ** (self.config or GAINConfig()).model.num_downsamples
        names = [b.decode() for b in out["blocks"].numpy()]
        return dict(result, fill_order=(names, out["masks"].numpy(), grid))

    def run_one(self, image_uint8, hole_mask_uint8, views: bool = False) -> dict:
        """:meth:`run` on one image ``[H,W,3]`` and its hole mask ``[H,W(,1)]``: the same keys
        without the batch axis; the fill-order masks ``[K, h', w']`` cut to the image's cells."""
        image, mask = as_batch_of_one(image_uint8, hole_mask_uint8)
        out = self.run(image, mask, views)
        one = {k: out[k][0] for k in ("inpainted", "gradient")}
        if not views:
            return one
        if out["fill_order"] is None:
            return dict(one, fill_order=None)
        names, masks, grid = out["fill_order"]
        return dict(one, fill_order=(names, own_cells(masks[0], *image.shape[1:3], grid), grid))

    def views(self, image_uint8, hole_mask_uint8) -> dict:
        """:meth:`run_one` with ``views=True``."""
        return self.run_one(image_uint8, hole_mask_uint8, views=True)

    @classmethod
    def from_generator(cls, generator, source: str = "") -> "Inpainter":
        return cls(make_serving_fn(generator), generator.config,
                   source or getattr(generator, "checkpoint_path", "") or "generator", keep=generator,
                   fill_order_fn=make_views_fn(generator))


def shipped_model() -> str:
    """:data:`SHIPPED_MODEL`, or ``FileNotFoundError`` saying how to name another model."""
    if not os.path.isfile(os.path.join(SHIPPED_MODEL, "saved_model.pb")):
        raise FileNotFoundError(f"no shipped model in this checkout ({SHIPPED_MODEL}): pass a model "
                                "(--model, --saved_model or --model_dir)")
    return SHIPPED_MODEL


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
    return Inpainter(fn, config, path, keep=loaded,
                     fill_order_fn=loaded.signatures.get(FILL_ORDER_KEY))


def model_format(path: str) -> str:
    """``'saved_model'``, ``'tflite'`` or ``'onnx'`` for a model path (by folder / extension);
    ``FileNotFoundError`` / ``ValueError`` naming ``path`` otherwise."""
    if os.path.isdir(path):
        return "saved_model"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model file or SavedModel folder")
    ext = os.path.splitext(path)[1].lower()
    if ext not in MODEL_FORMATS:
        raise ValueError(f"{path}: unknown model format {ext or '(no extension)'}: expected a "
                         "SavedModel folder, a .tflite or an .onnx file")
    return MODEL_FORMATS[ext]


def load_model(path: str, num_threads=None) -> Inpainter:
    """An :class:`Inpainter` for a SavedModel folder, a ``.tflite`` or an ``.onnx`` file (see
    :func:`model_format`); ``num_threads`` is passed to the TFLite / onnxruntime runtime."""
    fmt = model_format(path)
    if fmt == "saved_model":
        return load_saved_model(path)
    from gain_tf.deploy.runtime import OnnxInpainter, TFLiteInpainter
    return (TFLiteInpainter if fmt == "tflite" else OnnxInpainter)(path, num_threads)


def load_inpainter(model_dir: Optional[str] = None, saved_model: Optional[str] = None,
                   checkpoint: Optional[str] = None) -> Inpainter:
    """An :class:`Inpainter` from exactly one of ``saved_model`` or ``model_dir`` (+ ``checkpoint``)."""
    if bool(model_dir) == bool(saved_model):
        raise ValueError("give exactly one of --saved_model or --model_dir")
    if saved_model:
        return load_saved_model(saved_model)
    return Inpainter.from_generator(load_generator(model_dir, checkpoint))


def own_cells(masks, height: int, width: int, grid: int):
    """Fill-order masks ``[K, h', w']`` of a padded input cut to the ``1/grid`` cells of its
    ``height``×``width`` image (the cells of padding only cut off)."""
    return masks[:, :-(-height // grid), :-(-width // grid)]


def inpaint_arrays(fn: Callable, image_uint8, hole_mask_uint8, return_gradient: bool = False):
    """Runs ``fn`` (an :class:`Inpainter`, a SavedModel signature or
    :func:`gain_tf.serving.make_serving_fn`'s
    function: called as ``fn(image=..., mask=...)``) on numpy arrays.

    ``image_uint8``: ``[H,W,3]`` or ``[N,H,W,3]`` uint8; ``hole_mask_uint8``: ``[H,W]``,
    ``[H,W,1]`` or ``[N,H,W(,1)]`` uint8, non-zero = hole. Returns the uint8 inpainted images with
    the image's rank (and the guidance map too with ``return_gradient``).
    """
    single = np.asarray(image_uint8).ndim == 3
    image, mask = _as_batch(image_uint8, hole_mask_uint8)
    if isinstance(fn, Inpainter):
        out = fn(image, mask)
    else:
        out = fn(image=tf.constant(image), mask=tf.constant(mask))
    result = np.asarray(out["inpainted"])       # tensors, or numpy from gain_tf.deploy's runtimes
    gradient = np.asarray(out["gradient"])
    if single:
        result, gradient = result[0], gradient[0]
    return (result, gradient) if return_gradient else result


def _as_batch(image_uint8, hole_mask_uint8):
    """Checked uint8 ``[N,H,W,3]`` images and ``[N,H,W,1]`` masks from one image or a batch."""
    image = np.asarray(image_uint8)
    mask = np.asarray(hole_mask_uint8)
    if image.dtype != np.uint8 or mask.dtype != np.uint8:
        raise ValueError(f"expected uint8 image and mask, got {image.dtype} and {mask.dtype}")
    if image.ndim == 3:
        image, mask = image[None], mask[None]
    if image.ndim != 4 or image.shape[-1] != 3:
        raise ValueError(f"expected an RGB image [H,W,3] or batch [N,H,W,3], got shape "
                         f"{np.asarray(image_uint8).shape}")
    if mask.ndim == 3:
        mask = mask[..., None]
    if mask.ndim != 4 or mask.shape[-1] != 1 or mask.shape[:3] != image.shape[:3]:
        raise ValueError(f"mask shape {np.asarray(hole_mask_uint8).shape} does not match image "
                         f"shape {np.asarray(image_uint8).shape}")
    return image, mask


def as_batch_of_one(image_uint8, hole_mask_uint8):
    """:func:`_as_batch` for exactly one image (``ValueError`` for a batch of more)."""
    image, mask = _as_batch(image_uint8, hole_mask_uint8)
    if image.shape[0] != 1:
        raise ValueError(f"expected one image, got a batch of {image.shape[0]}")
    return image, mask


