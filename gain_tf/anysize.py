"""Photos of any size: the crop boxes, the modes (full / crop / resize / auto), the limits, and :func:`inpaint_image`.

:func:`inpaint_image` is what the CLI, the page and the evaluation of large photos call. It runs the
network once per region (one region in ``full`` and ``resize`` modes, one per crop box in ``crop``
mode) and returns an :class:`Inpainted`: the result, the boxes, and for the region with the most
hole pixels what the network saw and predicted there (the crop at its scale, the gradient, and,
with ``views=True``, branch 1's fill-order masks from that same run).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from gain_tf import DEFAULT_MAX_MEMORY_GB, DEFAULT_MAX_PIXELS
from gain_tf.config import GAINConfig

MODES = ("auto", "full", "crop", "resize")
MIN_MARGIN = 32   # crop mode: the least context around a hole region (px) when no margin is given


class InpaintInputError(ValueError):
    """An image or mask that cannot be inpainted as given; the message says why and what to do."""


@dataclasses.dataclass
class Inpainted:
    """What :func:`inpaint_image` returns.

    ``image`` uint8 ``[H,W,3]`` (known pixels bit-exact) and ``gradient`` float32 ``[H,W,C]`` (the
    predicted guidance, scaled back to the photo; zero outside crop boxes); ``mode`` the mode used
    (``auto`` resolved); ``boxes`` the regions run, ``(y0, x0, y1, x1)``; ``view_box`` the one of
    them with the most hole pixels. For that region, as the network saw it: ``seen`` uint8
    ``[h,w,3]``, ``seen_hole`` uint8 ``[h,w]`` (255 = hole), ``seen_gradient`` ``[h,w,C]``, and with
    ``views=True`` ``fill_order``, ``(block names, masks [K, h', w'] float32 (1 = known), grid)``
    on the model's ``1/grid`` grid of ``seen`` (:meth:`gain_tf.inference.Inpainter.views`; None
    when the model has no ``fill_order`` signature).
    """
    image: np.ndarray
    gradient: np.ndarray
    mode: str
    boxes: list
    view_box: tuple
    seen: np.ndarray
    seen_hole: np.ndarray
    seen_gradient: np.ndarray
    fill_order: Optional[tuple] = None


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
    """``[lo, hi)`` grown about its centre to at least ``size`` (at most ``limit``), shifted
    inside ``[0, limit)`` where it would cross a border."""
    target = min(size, limit)
    if hi - lo < target:
        lo = max(0, min((lo + hi - target) // 2, limit - target))
        hi = lo + target
    return lo, min(hi, limit)


def hole_boxes(hole: np.ndarray, margin: Optional[int] = None, min_size: int = 0,
               min_margin: int = MIN_MARGIN) -> list:
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


def resolve_mode(mode: str, height: int, width: int, training_size: int) -> str:
    """The mode ``auto`` stands for: ``crop`` when the longer side is over the training size
    (measured: at twice its training size the demo model's hole error in ``full`` mode is 3-8×
    ``crop``'s), else ``full``; any other mode is itself."""
    if mode == "auto":
        return "crop" if max(height, width) > training_size else "full"
    return mode


def _run_region(inpainter, image, hole, max_side: int, views: bool) -> tuple:
    """One network run on ``image`` with its longer side scaled to at most ``max_side`` and back:
    the model's composite, upscaled (so hole-edge pixels blend fill and known pixels), then only
    hole pixels pasted. Returns ``((uint8 [H,W,3], gradient [H,W,C]), what the network saw and
    predicted: (seen, seen_hole, seen_gradient, fill_order))``."""
    import cv2
    h, w = hole.shape
    small, small_mask = downscale(image, hole, max_side)
    out = inpainter.views(small, small_mask) if views else inpainter.run_one(small, small_mask)
    filled, gradient = out["inpainted"], out["gradient"]
    seen = (small, small_mask, gradient, out.get("fill_order"))
    if small.shape[:2] == (h, w):
        return (filled, gradient), seen
    up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
    gradient = cv2.resize(gradient, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
    return (np.where(hole[..., None], up, image), gradient), seen


def check_input(image, hole, mode: str, max_pixels: int) -> None:
    """:class:`InpaintInputError` for an unknown mode, an image over ``max_pixels``, an empty
    mask or a mask covering everything, in that order."""
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


def inpaint_image(inpainter, image_uint8, hole_mask_uint8, mode: str = "auto",
                  margin: Optional[int] = None, max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
                  max_pixels: int = DEFAULT_MAX_PIXELS, progress: Optional[Callable] = None,
                  views: bool = False) -> Inpainted:
    """Inpaints one photo of any size with ``inpainter`` (:class:`gain_tf.inference.Inpainter`).

    ``mode`` (docs/inpainting.md):

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
    ``views``: the view region's run also returns the fill order (:class:`Inpainted`). Raises
    :class:`InpaintInputError` for a bad mode, an image over ``max_pixels``, an empty mask, a mask
    covering everything, or ``full`` over the memory limit.
    """
    from gain_tf.inference import as_batch_of_one
    image, mask = as_batch_of_one(image_uint8, hole_mask_uint8)
    image, hole = image[0], mask[0, ..., 0] > 0
    h, w = hole.shape
    check_input(image, hole, mode, max_pixels)
    size = inpainter.training_size
    mode = resolve_mode(mode, h, w, size)
    if mode == "full":
        need = estimate_full_memory(h, w, inpainter.config)
        if need > max_memory_gb * 2 ** 30:
            raise InpaintInputError(
                f"--mode=full on {w}x{h} needs about {need / 2 ** 30:.1f} GiB (mostly contextual "
                f"attention's scores), over --max_memory_gb={max_memory_gb:g}: use --mode=crop")
    if mode != "crop":
        (out, gradient), seen = _run_region(inpainter, image, hole, max(h, w) if mode == "full"
                                            else size, views)
        return Inpainted(out, gradient, mode, [(0, 0, h, w)], (0, 0, h, w), *seen)
    out = image.copy()
    gradient, seen = None, None
    boxes = hole_boxes(hole, margin, min_size=size)
    view_box = max(boxes, key=lambda b: int(hole[b[0]:b[2], b[1]:b[3]].sum()))
    for k, (y0, x0, y1, x1) in enumerate(boxes):
        crop_hole = hole[y0:y1, x0:x1]
        is_view = (y0, x0, y1, x1) == view_box
        (filled, grad), crop_seen = _run_region(inpainter, image[y0:y1, x0:x1], crop_hole, size,
                                                views and is_view)
        out[y0:y1, x0:x1][crop_hole] = filled[crop_hole]
        if gradient is None:
            gradient = np.zeros((h, w, grad.shape[-1]), np.float32)
        gradient[y0:y1, x0:x1] = grad
        seen = crop_seen if is_view else seen
        if progress is not None:
            progress(k + 1, len(boxes))
    return Inpainted(out, gradient, mode, boxes, view_box, *seen)
