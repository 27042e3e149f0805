"""Every picture the tools draw, with one scaling: grids, the predicted gradient, the fill order and the mask shrinkage.

Pictures are uint8 RGB (``[H, W, 3]``); ``valid`` masks follow the library convention (1 = known,
0 = hole), ``hole`` masks the user's (non-zero = hole). A guidance map is drawn by
:func:`guidance_gray`: a gradient ``(∂x, ∂y)`` as its magnitude over :func:`magnitude_scale` (the
99th percentile away from the border), an edge map's logits as probabilities. The page, ``make
demo``, ``experiments/shrinkage.py``, the evaluation grids and the TensorBoard summaries all draw
through this module.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import cv2
import numpy as np

VIEW_MAX_SIDE = 512          # the page's gradient view: longer side at most (pixels)
VIEW_MIN_SIDE = 256          # smaller views are enlarged (by a whole factor, nearest) to about this
TILE = 144                   # a fill-order tile's longer side (pixels)
HOLE_RGB = (236, 64, 200)    # remaining hole in the fill-order strip
FILLED_RGB = (64, 200, 120)  # hole pixels filled so far
BORDER = 0.04                # share of the shorter side left out of the scale (padding artefacts)


# ------------------------------------------------------------------------------------- grids
def masked_input_picture(image_uint8, valid) -> np.ndarray:
    """The network's input as a picture: known pixels unchanged, holes white (255).

    ``image_uint8`` ``[H, W, 3]`` or ``[B, H, W, 3]``; ``valid`` of the same rank with one channel
    (or without the channel axis), 1 = known.
    """
    img = np.asarray(image_uint8)
    v = np.asarray(valid)
    if v.ndim == img.ndim - 1:
        v = v[..., None]
    return np.where(v > 0.5, img, 255).astype(np.uint8)


def _to_rgb_uint8(img) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.clip(np.round(a.astype(np.float64)), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"expected an image [H, W], [H, W, 1] or [H, W, 3], got shape {a.shape}")
    return a


def make_grid(rows_of_images: Sequence[Sequence[np.ndarray]], labels: Optional[Sequence[str]] = None,
              separator: int = 2) -> np.ndarray:
    """Composes a uint8 RGB picture: one grid row per entry of ``rows_of_images``, one column per image
    (e.g. masked input | GAIN | Telea | ground truth), ``separator``-px white lines between cells.

    Cells are padded (white, bottom/right) to the largest image; gray images are shown as RGB,
    float images are taken as [0, 255]. ``labels`` (one per column) adds a white header strip with the
    column names in black.
    """
    rows = [[_to_rgb_uint8(im) for im in row] for row in rows_of_images]
    if not rows or not any(rows):
        raise ValueError("make_grid needs at least one image")
    ncols = max(len(r) for r in rows)
    ch = max(im.shape[0] for r in rows for im in r)
    cw = max(im.shape[1] for r in rows for im in r)
    s = int(separator)
    header = 0
    if labels:
        if len(labels) > ncols:
            raise ValueError(f"{len(labels)} labels for {ncols} columns")
        header = 22
    height = header + len(rows) * ch + (len(rows) - 1) * s
    width = ncols * cw + (ncols - 1) * s
    grid = np.full((height, width, 3), 255, np.uint8)
    for j, label in enumerate(labels or []):
        scale = 0.45
        (tw, _), _ = cv2.getTextSize(str(label), cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        if tw > cw - 4:  # shrink the label to fit a narrow column
            scale *= max(cw - 4, 1) / tw
            (tw, _), _ = cv2.getTextSize(str(label), cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        x0 = j * (cw + s) + max(0, (cw - tw) // 2)
        cv2.putText(grid, str(label), (x0, header - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    for i, row in enumerate(rows):
        y0 = header + i * (ch + s)
        for j, im in enumerate(row):
            x0 = j * (cw + s)
            grid[y0:y0 + im.shape[0], x0:x0 + im.shape[1]] = im
    return grid


def comparison_grid(gt, valid, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """The same examples across methods, labelled: one row per image of ``gt`` ``[N, H, W, 3]``,
    masked input | each of ``outputs`` (name -> ``[N, H, W, 3]``, in their order) | ground truth."""
    rows = [[masked_input_picture(gt[i], valid[i])] + [outputs[n][i] for n in outputs] + [gt[i]]
            for i in range(gt.shape[0])]
    return make_grid(rows, ["masked input"] + list(outputs) + ["ground truth"])


# ---------------------------------------------------------------------------- guidance maps
def magnitude(gradient) -> np.ndarray:
    """``sqrt(∂x² + ∂y²)`` of a gradient ``[..., H, W, 2]`` -> ``[..., H, W]``."""
    g = np.asarray(gradient, np.float32)
    return np.sqrt(np.sum(np.square(g[..., :2]), axis=-1))


def magnitude_scale(values) -> float:
    """The one scale of gradient pictures: the 99th percentile of ``values [..., H, W]`` away from
    the border (:data:`BORDER` of the shorter side, where padding artefacts would saturate it)."""
    v = np.asarray(values, np.float32)
    h, w = v.shape[-2:]
    b = max(1, round(BORDER * min(h, w)))
    inner = v[..., b:-b, b:-b] if min(h, w) > 4 * b else v
    return float(np.percentile(inner, 99)) if inner.size else 0.0


def guidance_gray(guidance, scale: Optional[float] = None, logits: bool = True) -> np.ndarray:
    """A guidance map ``[..., H, W, C]`` as values in [0, 1], ``[..., H, W]``: two channels
    ``(∂x, ∂y)`` as the magnitude over ``scale`` (default: :func:`magnitude_scale` of this map;
    all zeros when it is 0, e.g. ``guidance='none'``); one channel as the edge probability
    (``sigmoid`` of logits, or the map itself with ``logits=False``)."""
    g = np.asarray(guidance, np.float32)
    if g.shape[-1] >= 2:
        m = magnitude(g)
        scale = magnitude_scale(m) if scale is None else scale
        return np.clip(m / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(m)
    v = g[..., 0]
    return 1.0 / (1.0 + np.exp(-np.clip(v, -30, 30))) if logits else np.clip(v, 0.0, 1.0)


def to_gray_uint8(values) -> np.ndarray:
    """Values in [0, 1] as uint8 gray levels (rounded)."""
    return (np.clip(np.asarray(values, np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _fit(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` scaled down (``INTER_AREA``) so its longer side is at most ``max_side`` (never up)."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _hole_outline(view: np.ndarray, hole: np.ndarray, color=(255, 255, 255)) -> np.ndarray:
    mask = (cv2.resize(hole.astype(np.uint8), (view.shape[1], view.shape[0]),
                       interpolation=cv2.INTER_NEAREST) > 0).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.ascontiguousarray(view)
    cv2.drawContours(out, contours, -1, color, 1)
    return out


def gradient_view(gradient: np.ndarray, hole: Optional[np.ndarray] = None,
                  max_side: int = VIEW_MAX_SIDE, min_side: int = VIEW_MIN_SIDE) -> np.ndarray:
    """The page's view of GAIN's predicted guidance ``[h, w, C]``: :func:`guidance_gray` in the
    magma colour map, uint8 RGB, longer side ≤ ``max_side`` (a map whose longer side is under
    ``min_side`` is enlarged by a whole factor, nearest pixel), ``hole`` outlined in white."""
    g = np.asarray(gradient, np.float32)
    gray = _fit(to_gray_uint8(guidance_gray(g[..., None] if g.ndim == 2 else g)), max_side)
    factor = max(1, min_side // max(gray.shape))
    if factor > 1:
        gray = np.repeat(np.repeat(gray, factor, axis=0), factor, axis=1)
    rgb = cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_MAGMA), cv2.COLOR_BGR2RGB)
    if hole is not None and np.any(hole):
        rgb = _hole_outline(rgb, np.asarray(hole) > 0)
    return rgb


# -------------------------------------------------------------------- fill order, shrinkage
def upsample_grid(masks, grid: int, height: int, width: int) -> np.ndarray:
    """Masks ``[..., h', w']`` on a ``1/grid`` grid (of the input padded bottom / right) at the
    input's ``height`` × ``width``: each cell repeated ``grid`` times, the padding cut off."""
    m = np.asarray(masks)
    return np.repeat(np.repeat(m, grid, axis=-2), grid, axis=-1)[..., :height, :width]


def _label(tile: np.ndarray, lines: list, band: int = 30) -> np.ndarray:
    out = np.full((tile.shape[0] + band, tile.shape[1], 3), 255, np.uint8)
    out[:tile.shape[0]] = tile
    for i, text in enumerate(lines[:2]):
        cv2.putText(out, text, (3, tile.shape[0] + 12 + 13 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.36,
                    (20, 20, 20), 1, cv2.LINE_AA)
    return out


def fill_order_strip(image: np.ndarray, hole: np.ndarray, names: list, masks: np.ndarray,
                     grid: int, tile: int = TILE, per_row: int = 5) -> np.ndarray:
    """How the hole shrinks block by block, as one uint8 RGB picture.

    ``image`` / ``hole`` (non-zero = hole) are what the model saw; ``masks [K, h', w']`` are branch
    1's masks after each block (1 = known) on the model's ``1/grid`` grid (``grid`` =
    ``2**num_downsamples``), ``names`` their blocks (:meth:`gain_tf.inference.Inpainter.views`).
    The first tile is the input hole; then one tile per block: the remaining hole in magenta, the
    part filled so far in green, labelled with the block name and the share of the input hole
    still open. Tiles are ``tile`` px on the longer side, ``per_row`` to a row.
    """
    masks = np.asarray(masks, np.float32)
    if masks.ndim != 3 or len(names) != masks.shape[0]:
        raise ValueError(f"expected {len(names)} masks [K, h, w], got shape {masks.shape}")
    h, w = hole.shape
    scale = tile / max(h, w)
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    base = cv2.resize(np.asarray(image, np.uint8), (tw, th), interpolation=interp)
    base = (base.astype(np.float32) * 0.55 + 255 * 0.45)            # faded photo
    to_tile = lambda m: cv2.resize(m.astype(np.uint8), (tw, th), interpolation=cv2.INTER_NEAREST) > 0
    hole_t = to_tile(hole > 0)
    hole_px = max(1, int((hole > 0).sum()))

    def paint(region_open, region_filled):
        t = base.copy()
        t[region_filled] = t[region_filled] * 0.3 + np.array(FILLED_RGB) * 0.7
        t[region_open] = t[region_open] * 0.15 + np.array(HOLE_RGB) * 0.85
        return t.astype(np.uint8)

    tiles = [_label(paint(hole_t, np.zeros_like(hole_t)), ["input hole", "100% open"])]
    for name, m in zip(names, masks):
        open_full = upsample_grid(m < 0.5, grid, h, w)
        share = 100.0 * float((open_full & (hole > 0)).sum()) / hole_px
        open_t = to_tile(open_full)
        label = name[len("structure_"):] if name.startswith("structure_") else name
        tiles.append(_label(paint(open_t, hole_t & ~open_t), [label, f"{share:.0f}% open"]))
    gap = 6
    rows = [tiles[i:i + per_row] for i in range(0, len(tiles), per_row)]
    th2, tw2 = tiles[0].shape[:2]
    columns = per_row if len(rows) > 1 else len(tiles)
    out = np.full((len(rows) * th2 + (len(rows) - 1) * gap, columns * tw2 + (columns - 1) * gap, 3),
                  255, np.uint8)
    for r, row in enumerate(rows):
        for c, t in enumerate(row):
            y, x = r * (th2 + gap), c * (tw2 + gap)
            out[y:y + th2, x:x + tw2] = t
    return out


def shrinkage_strip(image_uint8, valids: Sequence[np.ndarray], labels: Sequence[str], grid: int,
                    tile: int = 128) -> np.ndarray:
    """The masked input under each of ``valids`` (1 = known: first the input's own mask ``[H, W]``,
    then masks ``[h', w']`` on the ``1/grid`` grid of ``image_uint8``), holes white, each ``tile``
    × ``tile`` (nearest), labelled: ``experiments/shrinkage.py``'s strip."""
    h, w = np.asarray(image_uint8).shape[:2]
    tiles = []
    for v, g in zip(valids, [1] + [grid] * (len(valids) - 1)):
        pic = masked_input_picture(image_uint8, upsample_grid(v, g, h, w))
        tiles.append(cv2.resize(pic, (tile, tile), interpolation=cv2.INTER_NEAREST))
    return make_grid([tiles], labels)
