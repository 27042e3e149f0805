"""A built-in, download-free dataset: procedurally generated RGB scenes with continuable structure.

GAIN's gradient branch predicts the image gradient inside the hole so that structure -- edges,
smooth colour ramps, periodic patterns -- is continued from the known pixels into the hole, not
just smeared in. These scenes contain exactly that kind of structure, in moderate amounts, so a
small network can learn it in a few minutes of CPU training at 64x64 while the results remain
easy to judge by eye.

Each scene (uint8 RGB ``[H, W, 3]``) is built from:

* a **smooth colour field** as background: a linear or radial gradient between two colours
  (sometimes through a third), i.e. a plane / cone in colour space;
* 2-5 **elements** drawn in random order, so they overlap and occlude each other:

  - **filled shapes**: polygons (convex or star-like), ellipses, rotated rectangles and
    half-planes (a straight edge crossing the whole image), with a flat colour or a linear /
    radial gradient fill;
  - **edges**: straight lines, circular / elliptic arcs and cubic Bezier curves, 1-4 px wide (at
    64 x 64), in a random colour;
  - **textured regions**: a shape filled with a checkerboard (rotated), a grid of dots or a
    low-amplitude smooth noise (no per-pixel noise, which would be unlearnable and dominate the loss);

* optionally a **stripes** region: periodic bands at a random angle and period (5-14 px at 64 x 64),
  hard-edged or sinusoidal, covering a shape or (rarely) the whole background.

Everything is drawn at 4x (scenes up to 128 px) or 2x (larger) and downsampled with
``cv2.INTER_AREA``, which anti-aliases edges the way a camera would. Scene ``i`` of
:func:`generate_scenes` depends only on ``(seed, i)``. Sizes, widths and periods are relative to
the image (widths and periods are quoted above for 64 x 64), so the same ``(seed, i)`` gives the
same picture at any ``size``, only sharper.

Why this data is a useful test bed: classical diffusion inpainting (``cv2.INPAINT_TELEA``,
``cv2.INPAINT_NS``) propagates colour from the hole border and handles smooth colour fields well,
but it cannot continue an edge that crosses a hole (it blurs it or bends it along isophotes only
locally), cannot close a curve or the corner of a shape, and cannot reproduce stripes or a
checkerboard inside a hole. A learned model -- GAIN's gradient branch in particular -- can, so it
should beat those baselines on this data, while both are near-perfect on the smooth background.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from gain_tf.scene_drawing import (draw_edge, draw_filled_shape, draw_pattern_region,
                                   gradient_image, pick, random_color, supersample)

__all__ = ["generate_scene", "generate_scenes", "write_scene_folder"]

def generate_scene(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """One procedurally generated scene, uint8 RGB ``[size, size, 3]``, drawn with ``rng``."""
    size = int(size)
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    hi = size * supersample(size)

    # background: smooth colour field
    c0 = random_color(rng)
    c1 = random_color(rng, c0, 90)
    c_mid = random_color(rng, (c0 + c1) / 2, 50) if rng.uniform() < 0.2 else None
    if rng.uniform() < 0.08:    # rare: a flat background
        canvas = np.empty((hi, hi, 3), np.uint8)
        canvas[:] = np.round(c0).astype(np.uint8)
    else:
        canvas = gradient_image(rng, size, hi, c0, c1, c_mid=c_mid)
    bg_mean = (c0 + c1) / 2

    if rng.uniform() < 0.05:    # rare: whole-image stripes (then fewer elements on top)
        draw_pattern_region(rng, canvas, size, hi, bg_mean, stripes=True, whole=True)

    kinds = ["shape", "edge", "texture"]
    n = int(rng.integers(2, 6))
    elements = [pick(rng, kinds, (0.5, 0.35, 0.15)) for _ in range(n)]
    if rng.uniform() < 0.3:
        elements.insert(int(rng.integers(0, len(elements) + 1)), "stripes")
    for kind in elements:
        if kind == "shape":
            draw_filled_shape(rng, canvas, size, hi, bg_mean)
        elif kind == "edge":
            draw_edge(rng, canvas, size, hi, bg_mean)
        else:
            draw_pattern_region(rng, canvas, size, hi, bg_mean, stripes=(kind == "stripes"))

    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)


def _scene(size: int, seed: int, index: int) -> np.ndarray:
    return generate_scene(np.random.default_rng([int(seed), int(index)]), size)


def generate_scenes(count: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """``count`` scenes, uint8 ``[count, size, size, 3]``; scene ``i`` depends only on ``(seed, i)``."""
    out = np.empty((int(count), int(size), int(size), 3), np.uint8)
    for i in range(int(count)):
        out[i] = _scene(size, seed, i)
    return out


def write_scene_folder(output_dir: str, count: int, size: int = 64, seed: int = 0,
                       prefix: str = "scene") -> list[str]:
    """Writes scenes ``0 .. count-1`` as ``{prefix}_{i:05d}.png`` into ``output_dir``; returns the paths.

    Resumable: files that already exist are left alone (each PNG is written atomically, so an
    existing file is a complete one). Scene ``i`` is the same as ``generate_scenes(...)[i]``.
    """
    from gain_tf.images import write_png     # imports TensorFlow; keep it out of generation

    os.makedirs(output_dir, exist_ok=True)
    paths = []
    for i in range(int(count)):
        path = os.path.join(output_dir, f"{prefix}_{i:05d}.png")
        if not os.path.exists(path):
            write_png(path, _scene(size, seed, i))
        paths.append(path)
    return paths
