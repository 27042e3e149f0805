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

from gain_tf import REPO_ROOT
from gain_tf.config import GAINConfig
from gain_tf.images import to_model_range, to_uint8
from gain_tf.masks import valid_from_hole_mask
from gain_tf.run_dir import RunDir

# The model shipped with the repository (models/gain-photo/MODEL_CARD.md): what the CLI and the page
# use when no model is given (:func:`shipped_model`).
SHIPPED_MODEL = os.path.join(REPO_ROOT, "models", "gain-photo")
SIGNATURE_KEY = "serving_default"
FILL_ORDER_KEY = "fill_order"
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
    # Rounded up with a floor division of non-negative numbers: tf2onnx turns FloorMod into a
    # C-style remainder, which is wrong for ``(-h) % multiple``.
    hp = (h + multiple - 1) // multiple * multiple
    wp = (w + multiple - 1) // multiple * multiple
    x = tf.gather(x, _symmetric_indices(h, hp), axis=1)
    return tf.gather(x, _symmetric_indices(w, wp), axis=2)


def _padded_inputs(generator, image, mask) -> tuple:
    """G's inputs for uint8 images and hole masks, padded to the model's multiple."""
    multiple = generator.config.model.multiple
    x = to_model_range(pad_to_multiple(image, multiple))
    valid = valid_from_hole_mask(pad_to_multiple(mask, multiple), threshold=0)
    return generator.guidance.serving_inputs(x, valid)


def composite_uint8(filled, image, mask):
    """``where(mask > 0, filled, image)`` for uint8 ``filled`` / ``image [N,H,W,3]`` and hole
    ``mask [N,H,W,1]``, compared and selected in int32 (TFLite has no uint8 Greater / Select);
    the same uint8 values as comparing in uint8."""
    hole = tf.cast(mask, tf.int32) > 0
    return tf.cast(tf.where(hole, tf.cast(filled, tf.int32), tf.cast(image, tf.int32)), tf.uint8)


def inpaint_graph(generator, image, mask) -> dict:
    """uint8 ``image [N,H,W,3]`` and hole ``mask [N,H,W,1]`` (non-zero = hole), any H, W ->
    ``{'inpainted': uint8 [N,H,W,3], 'gradient': float32 [N,H,W,C]}`` (TF ops only).

    ``gradient`` is G's predicted guidance map, cropped: ``[N,H,W,2]`` for gradient guidance, the
    edge logits ``[N,H,W,1]`` for edge guidance, zeros ``[N,H,W,2]`` for ``guidance='none'``.
    """
    image = tf.convert_to_tensor(image, tf.uint8)
    mask = tf.convert_to_tensor(mask, tf.uint8)
    shape = tf.shape(image)
    n, h, w = shape[0], shape[1], shape[2]
    out = generator(_padded_inputs(generator, image, mask), training=False)
    pred = tf.cast(out["image"], tf.float32)[:, :h, :w, :]
    inpainted = composite_uint8(to_uint8(pred), image, mask)
    if "gradient" in out:
        gradient = tf.cast(out["gradient"], tf.float32)[:, :h, :w, :]
    else:                                                   # no guidance stream
        gradient = tf.zeros(tf.stack([n, h, w, 2]), tf.float32)
    return {"inpainted": inpainted, "gradient": gradient}


def branch1_masks(generator, inputs) -> list:
    """``[(block name, valid [N, H/4, W/4, 1])]`` of branch 1 from its last stride-2 block on
    (the priority blocks follow it), for G's ``inputs``."""
    masks = generator(inputs, training=False, return_masks=True)["masks"]
    branch1 = [(n, m) for n, m in masks if n.startswith("structure_")]
    return branch1[generator.config.model.num_downsamples:]   # after the entry and stride-2 blocks


def fill_order_graph(generator, image, mask) -> dict:
    """Branch 1's mask after each block from its last stride-2 block on (the priority blocks come
    next): ``{'masks': float32 [N, K, H', W'] (1 = known), 'blocks': string [K]}`` at 1/4 of the
    padded input (TF ops only; the SavedModel's ``fill_order`` signature)."""
    branch1 = branch1_masks(generator, _padded_inputs(generator, tf.convert_to_tensor(image, tf.uint8),
                                                      tf.convert_to_tensor(mask, tf.uint8)))
    return {"masks": tf.stack([m[..., 0] for _, m in branch1], axis=1),
            "blocks": tf.constant([n for n, _ in branch1])}


def make_serving_fn(generator) -> Callable:
    """The in-memory serving function: ``fn(image=uint8 [N,H,W,3], mask=uint8 [N,H,W,1])`` -> dict
    (see :func:`inpaint_graph`); a ``tf.function`` with the SavedModel's input signature."""
    return tf.function(lambda image, mask: inpaint_graph(generator, image, mask),
                       input_signature=SERVING_SIGNATURE, autograph=False)


def make_fill_order_fn(generator) -> Callable:
    """:func:`fill_order_graph` as a ``tf.function`` with the SavedModel's input signature."""
    return tf.function(lambda image, mask: fill_order_graph(generator, image, mask),
                       input_signature=SERVING_SIGNATURE, autograph=False)


# ------------------------------------------------------------------------------- running models
class Inpainter:
    """One callable for a SavedModel or an in-memory generator:
    ``inpainter(image=uint8 [N,H,W,3], mask=uint8 [N,H,W,1])`` -> ``{'inpainted', 'gradient'}``
    tensors; :meth:`inpaint` maps numpy uint8 images and hole masks to uint8 inpainted images
    and :meth:`inpaint_scored` (with the predicted gradient) are ``inpaint_fn``s of
    :func:`gain_tf.evaluation.protocol.evaluate`.

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
    def training_size(self) -> int:
        """The size the model was trained at (256 when the config is unknown)."""
        return self.config.data.image_size if self.config is not None else 256

    def fill_order(self, image_uint8, hole_mask_uint8):
        """``(block names, masks [K, h, w] float32, 1 = known)``: how branch 1 fills the hole of one
        image, block by block (``ValueError`` if the model has no ``fill_order`` signature)."""
        if self.fill_order_fn is None:
            raise ValueError(f"{self.source}: this model has no fill_order signature (export it "
                             "again with this version)")
        image, mask = _batch_of_one(image_uint8, hole_mask_uint8)
        out = self.fill_order_fn(image=tf.constant(image), mask=tf.constant(mask))
        return [b.decode() for b in out["blocks"].numpy()], out["masks"].numpy()[0]

    @classmethod
    def from_generator(cls, generator, source: str = "") -> "Inpainter":
        return cls(make_serving_fn(generator), generator.config,
                   source or getattr(generator, "checkpoint_path", "") or "generator", keep=generator,
                   fill_order_fn=make_fill_order_fn(generator))


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


def _batch_of_one(image_uint8, hole_mask_uint8):
    image, mask = _as_batch(image_uint8, hole_mask_uint8)
    if image.shape[0] != 1:
        raise ValueError(f"expected one image, got a batch of {image.shape[0]}")
    return image, mask


# ------------------------------------------------------------------------ photos of any size
MODES = ("auto", "full", "crop", "resize")
DEFAULT_MAX_MEMORY_GB = 8.0
DEFAULT_MAX_PIXELS = 40_000_000


class InpaintInputError(ValueError):
    """An image or mask that cannot be inpainted as given; the message says why and what to do."""


def estimate_full_memory(height: int, width: int, config: Optional[GAINConfig]) -> int:
    """Rough peak bytes of ``full`` mode on one ``height``×``width`` image: the contextual
    attention's score tensors, ``(H/8 · W/8)²`` float32 each, of which about four are alive at
    once, plus the generator's activations (``H·W`` times the widths of ~20 live feature maps)."""
    m = config.model if config is not None else GAINConfig().model
    low = (height / (2 ** m.num_downsamples * m.attention_rate)) * (
        width / (2 ** m.num_downsamples * m.attention_rate))
    scores = 4 * 4 * low * low if m.attention else 0
    activations = 4 * 20 * height * width * (m.image_channels + m.gradient_channels)
    return int(scores + activations)


def _grow(lo: int, hi: int, size: int, limit: int) -> tuple:
    """``[lo, hi)`` grown around its centre to at least ``size`` (at most ``limit``), inside
    ``[0, limit)``."""
    target = min(size, limit)
    if hi - lo < target:
        lo = max(0, min((lo + hi - target) // 2, limit - target))
        hi = lo + target
    return lo, min(hi, limit)


def hole_boxes(hole: np.ndarray, margin: Optional[int] = None, min_size: int = 0,
               min_margin: int = 32) -> list:
    """Crop boxes ``(y0, x0, y1, x1)`` around the hole's connected regions: each region's bounding
    box grown by ``margin`` (default: the region's longer side, at least ``min_margin``) and to at
    least ``min_size`` per side (the model's training size: smaller windows lack the context it
    was trained with), clipped to the image; overlapping boxes merged until none overlap. Every
    hole pixel lies in exactly one box."""
    import cv2
    h, w = hole.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    boxes = []
    for x, y, bw, bh, _ in stats[1:count]:
        pad = max(min_margin, bw, bh) if margin is None else int(margin)
        y0, y1 = _grow(max(0, y - pad), min(h, y + bh + pad), min_size, h)
        x0, x1 = _grow(max(0, x - pad), min(w, x + bw + pad), min_size, w)
        boxes.append([y0, x0, y1, x1])
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return [tuple(int(v) for v in b) for b in boxes]


def downscale(image, hole, max_side: int) -> tuple:
    """``(image, hole mask uint8, 255 = hole)`` with the longer side scaled to at most ``max_side``
    (``INTER_AREA``; a scaled-down pixel is hole if any of it was); unchanged when small enough."""
    import cv2
    h, w = hole.shape
    mask = np.where(hole > 0, 255, 0).astype(np.uint8)
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image, mask
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small_hole = cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0
    return (cv2.resize(image, size, interpolation=cv2.INTER_AREA),
            np.where(small_hole, 255, 0).astype(np.uint8))


def _run_scaled(inpainter, image, hole, size):
    """Inpaints ``image`` with its longer side scaled to at most ``size`` and back: the model's
    composite, upscaled (so hole-edge pixels blend fill and known pixels), then only hole pixels
    pasted. Returns ``(uint8 [H,W,3], gradient [H,W,C])``."""
    import cv2
    h, w = hole.shape
    small, small_mask = downscale(image, hole, size)
    if small.shape[:2] == (h, w):
        return inpaint_arrays(inpainter, image, small_mask, return_gradient=True)
    filled, gradient = inpaint_arrays(inpainter, small, small_mask, return_gradient=True)
    up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
    gradient = cv2.resize(gradient, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
    return np.where(hole[..., None], up, image), gradient


def resolve_mode(mode: str, height: int, width: int, training_size: int) -> str:
    """The mode ``auto`` stands for: ``crop`` when the longer side is over the training size
    (measured: at twice its training size the demo model's hole error in ``full`` mode is 3-8×
    ``crop``'s), else ``full``; any other mode is itself."""
    if mode == "auto":
        return "crop" if max(height, width) > training_size else "full"
    return mode


def inpaint_image(inpainter: Inpainter, image_uint8, hole_mask_uint8, mode: str = "auto",
                  margin: Optional[int] = None, max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
                  max_pixels: int = DEFAULT_MAX_PIXELS, progress: Optional[Callable] = None):
    """Inpaints one photo of any size: ``(inpainted uint8 [H,W,3], gradient float32 [H,W,C])``.

    ``mode`` (README, "Use it on your photos"):

    * ``full``: the whole image through the network at its own resolution; refused, with the
      estimate, when :func:`estimate_full_memory` is over ``max_memory_gb``;
    * ``crop``: each hole region (:func:`hole_boxes`, grown by ``margin`` and to at least the
      training size) cut out, scaled so its longer side is at most the training size, inpainted,
      scaled back (the upscaled composite blends fill and known pixels at the hole edge); only
      hole pixels pasted;
    * ``resize``: the whole image scaled to the training size, inpainted, scaled back, hole pixels
      pasted;
    * ``auto``: :func:`resolve_mode`: ``crop`` when the longer side is over the training size.

    Known pixels come back bit-exact in every mode. ``progress(done, total)`` is called per crop.
    Raises :class:`InpaintInputError` for an empty mask, a mask covering everything, an image over
    ``max_pixels``, or ``full`` over the memory limit.
    """
    image, mask = _batch_of_one(image_uint8, hole_mask_uint8)
    image, hole = image[0], mask[0, ..., 0] > 0
    h, w = hole.shape
    if mode not in MODES:
        raise InpaintInputError(f"--mode must be one of {MODES}, got {mode!r}")
    if h * w > max_pixels:
        raise InpaintInputError(f"the image has {h * w / 1e6:.1f} megapixels, over the limit of "
                                f"{max_pixels / 1e6:.0f} (--max_pixels): scale it down first")
    if not hole.any():
        raise InpaintInputError("the mask has no hole pixels (white = hole): nothing to inpaint")
    if hole.all():
        raise InpaintInputError("the mask covers the whole image: no known pixels to inpaint from")
    size = inpainter.training_size
    mode = resolve_mode(mode, h, w, size)
    if mode == "full":
        need = estimate_full_memory(h, w, inpainter.config)
        if need > max_memory_gb * 2 ** 30:
            raise InpaintInputError(
                f"--mode=full on {w}x{h} needs about {need / 2 ** 30:.1f} GiB (mostly contextual "
                f"attention's scores), over --max_memory_gb={max_memory_gb:g}: use --mode=crop")
        return inpaint_arrays(inpainter, image, mask[0], return_gradient=True)
    if mode == "resize":
        return _run_scaled(inpainter, image, hole, size)
    out = image.copy()
    gradient = None
    boxes = hole_boxes(hole, margin, min_size=size)
    for k, (y0, x0, y1, x1) in enumerate(boxes):
        crop_hole = hole[y0:y1, x0:x1]
        filled, grad = _run_scaled(inpainter, image[y0:y1, x0:x1], crop_hole, size)
        out[y0:y1, x0:x1][crop_hole] = filled[crop_hole]
        if gradient is None:
            gradient = np.zeros((h, w, grad.shape[-1]), np.float32)
        gradient[y0:y1, x0:x1] = grad
        if progress is not None:
            progress(k + 1, len(boxes))
    return out, gradient
