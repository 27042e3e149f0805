"""Photos of any size: the crop boxes, the modes (full / crop / resize / auto), the limits, and :func:`inpaint_image`.

:func:`inpaint_image` is what the CLI, the page and the evaluation of large photos call. It runs the
network once per request, on one region in ``full`` and ``resize`` modes and on all crop boxes
together in ``crop`` mode, and returns an :class:`Inpainted`: the result, the boxes, and for the
region with the most hole pixels what the network saw and predicted there (the crop at its
scale, the gradient, and, with ``views=True``, branch 1's fill-order masks from that same run).
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


def rescale(image, hole, side: int) -> tuple:
    """``(image, hole mask uint8, 255 = hole)`` with the longer side scaled to ``side``: down with
    ``INTER_AREA``, up bilinearly; the mask is scaled with the same interpolation and a scaled
    pixel is hole if any hole pixel weighs in it, so nothing under the hole reaches the scaled
    image's known pixels."""
    import cv2
    h, w = hole.shape
    mask = np.where(hole > 0, 255, 0).astype(np.uint8)
    scale = side / max(h, w)
    if scale == 1.0:
        return image, mask
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_LINEAR if scale > 1.0 else cv2.INTER_AREA
    scaled_hole = cv2.resize(mask, size, interpolation=interpolation) > 0
    return (cv2.resize(image, size, interpolation=interpolation),
            np.where(scaled_hole, 255, 0).astype(np.uint8))


def resolve_mode(mode: str, height: int, width: int, training_size: int) -> str:
    """The mode ``auto`` stands for: ``crop`` when the longer side is over the training size,
    ``resize`` (scaled up) when it is under, ``full`` at it; any other mode is itself. A model
    works at the scale it was trained at (measured on the demo model, trained at 64: at twice
    that size ``full``'s hole error is 3-8× ``crop``'s; at 24-48 px it is 1.6-3× ``resize``'s)."""
    if mode == "auto":
        longer = max(height, width)
        return "crop" if longer > training_size else "resize" if longer < training_size else "full"
    return mode


def runs_off_size(mode: str, height: int, width: int, training_size: int) -> bool:
    """Whether ``mode`` runs a ``height`` × ``width`` image through the model at a size other
    than its training size: ``full`` mode on an image that is not ``training_size`` square, where
    the model fills worse (docs/inpainting.md#modes). ``auto`` never does."""
    return (resolve_mode(mode, height, width, training_size) == "full"
            and (height, width) != (training_size, training_size))


def _regions_per_run(shape, config, max_memory_gb: float) -> int:
    """How many crops of ``shape`` (h, w) one generator run may take within ``max_memory_gb``."""
    return max(1, int(max_memory_gb * 2 ** 30 // max(1, estimate_full_memory(*shape, config))))


def _run_regions(inpainter, regions, side: int, view: int, views: bool, max_memory_gb: float,
                 square: bool = True):
    """The network on each ``(image, hole)`` of ``regions`` with its longer side scaled to
    ``side`` (:func:`rescale`) and back: the model's composite, scaled back
    (so hole-edge pixels blend fill and known pixels), then only hole pixels pasted.

    The scaled regions go through the generator together, as one batch (in as few runs as
    ``max_memory_gb`` allows: one for any usual request), each padded at the bottom and right by
    mirroring, as the serving graph pads to its multiple: to ``side`` × ``side`` with ``square``
    (crop and resize modes, so the model runs at its training size, as a fixed-size TFLite export
    must: both formats fill alike), else to the largest region (full mode). Returns the list of
    ``(uint8 [H,W,3], gradient [H,W,C])`` and, for region ``view``, what the network saw and
    predicted: ``(seen, seen_hole, seen_gradient, fill_order)`` (the fill order with ``views``
    only, from the same run).
    """
    import cv2

    from gain_tf.inference import own_cells
    scaled = [rescale(image, hole, side) for image, hole in regions]
    least = side if square else 1
    hm = max([least] + [im.shape[0] for im, _ in scaled])
    wm = max([least] + [im.shape[1] for im, _ in scaled])
    padded = [[np.pad(a, [(0, hm - a.shape[0]), (0, wm - a.shape[1])] + [(0, 0)] * (a.ndim - 2),
                      mode="symmetric") for a in pair] for pair in scaled]
    images, masks = np.stack([p[0] for p in padded]), np.stack([p[1] for p in padded])
    per_run = _regions_per_run((hm, wm), inpainter.config, max_memory_gb)
    filled, gradients, fill_order = [], [], None
    for k in range(0, len(scaled), per_run):
        with_views = views and k <= view < k + per_run
        out = inpainter.run(images[k:k + per_run], masks[k:k + per_run], views=with_views)
        filled.extend(out["inpainted"])
        gradients.extend(out["gradient"])
        if with_views and out["fill_order"] is not None:
            names, order, grid = out["fill_order"]
            fill_order = (names, own_cells(order[view - k], *scaled[view][1].shape, grid), grid)
    results, seen = [], None
    for k, ((image, hole), (im, mask)) in enumerate(zip(regions, scaled)):
        h, w = mask.shape
        out, gradient = filled[k][:h, :w], gradients[k][:h, :w]
        if k == view:
            seen = (im, mask, gradient, fill_order)
        if (h, w) != hole.shape:
            big_h, big_w = hole.shape
            back = cv2.resize(out, (big_w, big_h), interpolation=cv2.INTER_CUBIC if big_h > h
                              else cv2.INTER_AREA)
            out = np.where(hole[..., None], back, image)
            gradient = cv2.resize(gradient, (big_w, big_h),
                                  interpolation=cv2.INTER_LINEAR).reshape(big_h, big_w, -1)
        results.append((out, gradient))
    return results, seen


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
      training size) cut out, scaled so its longer side is the training size, inpainted, scaled
      back (the scaled-back composite blends fill and known pixels at the hole edge); only hole
      pixels pasted;
    * ``resize``: the whole image scaled (down or up) so its longer side is the training size,
      inpainted, scaled back, hole pixels pasted;
    * ``auto``: :func:`resolve_mode`: ``crop`` above the training size, ``resize`` below it.

    The regions go through the generator in one run (:func:`_run_regions`). Known pixels come back
    bit-exact in every mode. ``progress(done, total)`` is called per crop pasted. ``views``: the run
    also returns the view region's fill order (:class:`Inpainted`). Raises
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
        side = max(h, w) if mode == "full" else size
        [(out, gradient)], seen = _run_regions(inpainter, [(image, hole)], side, 0, views,
                                               max_memory_gb, square=mode != "full")
        return Inpainted(out, gradient, mode, [(0, 0, h, w)], (0, 0, h, w), *seen)
    boxes = hole_boxes(hole, margin, min_size=size)
    view = max(range(len(boxes)), key=lambda k: int(hole[boxes[k][0]:boxes[k][2],
                                                         boxes[k][1]:boxes[k][3]].sum()))
    crops = [(image[y0:y1, x0:x1], hole[y0:y1, x0:x1]) for y0, x0, y1, x1 in boxes]
    results, seen = _run_regions(inpainter, crops, size, view, views, max_memory_gb)
    out = image.copy()
    gradient = np.zeros((h, w, results[0][1].shape[-1]), np.float32)
    for k, ((y0, x0, y1, x1), (filled, grad)) in enumerate(zip(boxes, results)):
        crop_hole = hole[y0:y1, x0:x1]
        out[y0:y1, x0:x1][crop_hole] = filled[crop_hole]
        gradient[y0:y1, x0:x1] = grad
        if progress is not None:
            progress(k + 1, len(boxes))
    return Inpainted(out, gradient, mode, boxes, boxes[view], *seen)
