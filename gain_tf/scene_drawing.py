"""The drawing of :mod:`gain_tf.synthetic`'s scenes: colours, smooth colour fields, shapes,
edges, stripes and textures, drawn with OpenCV on a supersampled canvas (the scene's description
is :mod:`gain_tf.synthetic`'s docstring)."""
from __future__ import annotations

import cv2
import numpy as np

_SHIFT = 4                      # sub-pixel bits for cv2 drawing calls
_ONE = 1 << _SHIFT
_BASE = 64                      # widths and periods are given in pixels of a 64 x 64 scene


def supersample(size: int) -> int:
    """How many times finer than the output the canvas is drawn (4x up to 128 px, else 2x)."""
    return 4 if size <= 128 else 2


def _unit(hi: int) -> float:
    """Hi-res pixels per pixel of a 64 x 64 scene: widths and periods scale with the output size, so
    scene ``(seed, i)`` is the same picture at every size (the rng is consumed identically)."""
    return hi / _BASE


def pick(rng: np.random.Generator, options, p):
    """``rng.choice(options, p=p)`` without its overhead (it dominates at these image sizes)."""
    u, acc = rng.uniform(), 0.0
    for option, w in zip(options, p):
        acc += w
        if u < acc:
            return option
    return options[-1]


def random_color(rng: np.random.Generator, avoid=None, min_dist: float = 60.0) -> np.ndarray:
    """A random RGB colour (float), at least ``min_dist`` away from ``avoid`` if possible."""
    c = rng.uniform(15, 240, size=3)
    if avoid is not None:
        for _ in range(4):
            if float(np.sum((c - avoid) ** 2)) >= min_dist * min_dist:
                break
            c = rng.uniform(15, 240, size=3)
    return c


def _pts(points: np.ndarray) -> np.ndarray:
    """Float hi-res coordinates -> int32 fixed-point coordinates for cv2 with ``shift=_SHIFT``."""
    return np.round(np.asarray(points, np.float64) * _ONE).astype(np.int32)


def _ramp(rng: np.random.Generator, n: int, center=None, extent=None) -> np.ndarray:
    """A scalar field in [0, 1] over an ``n x n`` grid: a linear or a radial ramp (float32).

    ``center`` / ``extent`` (in grid pixels) localise the ramp to a shape; default: whole image.
    """
    cx, cy = (n / 2, n / 2) if center is None else center
    ext = float(n if extent is None else extent)
    ax = np.arange(n, dtype=np.float32) + 0.5
    if rng.uniform() < 0.7:     # linear
        a = rng.uniform(0, 2 * np.pi)
        dx, dy = np.cos(a) / ext, np.sin(a) / ext
        t = ((ax - cx) * dx)[None, :] + ((ax - cy) * dy)[:, None] + 0.5
    else:                       # radial, from an off-centre focus
        fx = cx + rng.uniform(-0.5, 0.5) * ext
        fy = cy + rng.uniform(-0.5, 0.5) * ext
        r = rng.uniform(0.5, 1.2) * ext
        t = np.sqrt(((ax - fx) ** 2)[None, :] + ((ax - fy) ** 2)[:, None]) / r
    return np.clip(t, 0.0, 1.0, out=t)


def gradient_image(rng: np.random.Generator, size: int, hi: int, c0, c1, center=None, extent=None,
                    c_mid=None) -> np.ndarray:
    """A colour gradient computed at ``size`` (it is smooth) and upsampled to ``hi`` (uint8 RGB).

    Nearest-neighbour upsampling: the final ``INTER_AREA`` downsampling by the same factor gives the
    low-resolution field back exactly, and only shape borders see the blocks (averaged away).
    """
    t = _ramp(rng, size, center, extent)[..., None]
    if c_mid is None:
        img = c0 + t * (c1 - c0)
    else:   # piecewise-linear through a middle colour
        img = np.where(t < 0.5, c0 + 2 * t * (c_mid - c0), c_mid + (2 * t - 1) * (c1 - c_mid))
    img = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.resize(img, (hi, hi), interpolation=cv2.INTER_NEAREST)


# ----------------------------------------------------------------------------------- shape masks

def _shape(rng: np.random.Generator, hi: int, kind: str | None = None):
    """A random filled shape in hi-res pixels: returns (fill, centre, extent), ``fill(img, colour)``
    drawing it into ``img``."""
    if kind is None:
        kind = pick(rng, ("polygon", "ellipse", "rectangle", "halfplane"), (0.3, 0.3, 0.25, 0.15))
    cx, cy = rng.uniform(0.1, 0.9, size=2) * hi
    r = rng.uniform(0.12, 0.38) * hi
    if kind == "ellipse":
        center = (int(cx * _ONE), int(cy * _ONE))
        axes = (int(r * _ONE), int(r * rng.uniform(0.35, 1.0) * _ONE))
        angle = rng.uniform(0, 180)

        def fill(img, color):
            cv2.ellipse(img, center, axes, angle, 0, 360, color, -1, cv2.LINE_8, _SHIFT)
        return fill, (cx, cy), 2 * r
    if kind == "polygon":
        n = int(rng.integers(3, 8))
        ang = np.sort(rng.uniform(0, 2 * np.pi, size=n))
        star = rng.uniform() < 0.3
        rad = r * (rng.uniform(0.4, 1.0, size=n) if star else rng.uniform(0.75, 1.0, size=n))
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], -1)
    elif kind == "rectangle":
        w, h = r * rng.uniform(0.8, 2.0), r * rng.uniform(0.5, 1.6)
        angle = 0.0 if rng.uniform() < 0.4 else rng.uniform(0, 90)
        pts = cv2.boxPoints(((cx, cy), (w, h), angle))
    else:   # half-plane: everything on one side of a line through a random point
        a = rng.uniform(0, 2 * np.pi)
        d, n_ = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
        p, big = np.array([cx, cy]), 3.0 * hi
        pts = np.stack([p - big * d, p + big * d, p + big * d + big * n_, p - big * d + big * n_])
        cx, cy, r = hi / 2, hi / 2, hi / 2
    poly = [_pts(pts)]

    def fill(img, color):
        cv2.fillPoly(img, poly, color, cv2.LINE_8, _SHIFT)
    return fill, (cx, cy), 2 * r


def _shape_mask(rng: np.random.Generator, hi: int, kind: str | None = None):
    """A random filled shape as a uint8 hi-res mask (255 inside); returns (mask, centre, extent)."""
    fill, center, extent = _shape(rng, hi, kind)
    mask = np.zeros((hi, hi), np.uint8)
    fill(mask, 255)
    return mask, center, extent


def _paste(canvas: np.ndarray, layer: np.ndarray, mask: np.ndarray) -> None:
    cv2.copyTo(layer, mask, canvas)


# -------------------------------------------------------------------------------------- elements

def draw_filled_shape(rng, canvas, size, hi, bg_mean):
    fill, (cx, cy), ext = _shape(rng, hi)
    c0 = random_color(rng, bg_mean)
    outline = rng.uniform() < 0.2
    mask = None
    if rng.uniform() < 0.55:        # flat fill
        fill(canvas, np.round(c0).tolist())
    else:                           # gradient fill, localised to the shape
        c1 = random_color(rng, c0, 80)
        s = hi / size
        layer = gradient_image(rng, size, hi, c0, c1, (cx / s, cy / s), ext / s)
        mask = np.zeros((hi, hi), np.uint8)
        fill(mask, 255)
        _paste(canvas, layer, mask)
    if outline:
        if mask is None:
            mask = np.zeros((hi, hi), np.uint8)
            fill(mask, 255)
        # inner outline: the mask minus its erosion (erode treats outside the image as inside,
        # so a shape running off the image is not outlined along the image border)
        th = max(1, int(round(rng.uniform(1.0, 2.0) * _unit(hi))))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * th + 1, 2 * th + 1))
        ring = cv2.subtract(mask, cv2.erode(mask, kernel))
        layer = np.empty_like(canvas)
        layer[:] = np.round(random_color(rng, c0)).astype(np.uint8)
        _paste(canvas, layer, ring)


def draw_edge(rng, canvas, size, hi, bg_mean):
    color = random_color(rng, bg_mean).tolist()
    th = max(1, int(round(rng.uniform(1.0, 4.0) * _unit(hi))))
    kind = pick(rng, ("line", "arc", "bezier"), (0.35, 0.3, 0.35))
    if kind == "line":
        # long lines mostly: from one side of the image to another
        p = rng.uniform(0, hi, size=2)
        a = rng.uniform(0, np.pi)
        d = np.array([np.cos(a), np.sin(a)])
        l0, l1 = (-2 * hi, 2 * hi) if rng.uniform() < 0.6 else (-rng.uniform(0.2, 0.6) * hi,
                                                                 rng.uniform(0.2, 0.6) * hi)
        q0, q1 = _pts(p + l0 * d), _pts(p + l1 * d)
        cv2.line(canvas, tuple(map(int, q0)), tuple(map(int, q1)), color, th, cv2.LINE_8, _SHIFT)
    elif kind == "arc":
        c = rng.uniform(-0.1, 1.1, size=2) * hi
        r = rng.uniform(0.2, 0.7) * hi
        axes = (int(r * _ONE), int(r * rng.uniform(0.5, 1.0) * _ONE))
        start = rng.uniform(0, 360)
        span = rng.uniform(90, 300)
        cv2.ellipse(canvas, tuple(map(int, _pts(c))), axes, rng.uniform(0, 180), start, start + span,
                    color, th, cv2.LINE_8, _SHIFT)
    else:   # cubic Bezier with end points near / beyond the border
        p = rng.uniform(-0.1, 1.1, size=(4, 2)) * hi
        t = np.linspace(0, 1, 40)[:, None]
        curve = ((1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t ** 2 * p[2]
                 + t ** 3 * p[3])
        cv2.polylines(canvas, [_pts(curve)], False, color, th, cv2.LINE_8, _SHIFT)


def _hi_coords(hi: int):
    ax = np.arange(hi, dtype=np.float32) + 0.5
    return ax[None, :], ax[:, None]


def _colorize(t: np.ndarray, c0, c1) -> np.ndarray:
    """A scalar field ``t`` in [0, 1] -> uint8 RGB blending ``c0`` -> ``c1``, through a lookup table."""
    t8 = (t * 255.0 + 0.5).astype(np.uint8)
    idx = cv2.merge([t8, t8, t8])
    ramp = np.linspace(0.0, 1.0, 256)[:, None]
    lut = np.clip(np.round(c0 + ramp * (np.asarray(c1) - c0)), 0, 255).astype(np.uint8)
    return cv2.LUT(idx, lut.reshape(256, 1, 3))


def _stripes_layer(rng, size, hi, c0, c1) -> np.ndarray:
    x, y = _hi_coords(hi)
    a = rng.uniform(0, np.pi)
    period = rng.uniform(5.0, 14.0) * _unit(hi)
    u = (x * (np.cos(a) / period) + rng.uniform()) + y * (np.sin(a) / period)
    if rng.uniform() < 0.7:     # hard-edged bands (anti-aliased by the downsampling)
        t = ((u - np.floor(u)) < rng.uniform(0.3, 0.7)).astype(np.float32)
    else:                       # smooth sinusoidal bands
        t = 0.5 + 0.5 * np.sin((2 * np.pi) * u)
    return _colorize(t, c0, c1)


def _texture_layer(rng, size, hi, c0, c1) -> np.ndarray:
    s = _unit(hi)
    kind = pick(rng, ("checker", "dots", "noise"), (0.35, 0.35, 0.3))
    if kind == "checker":
        x, y = _hi_coords(hi)
        a = 0.0 if rng.uniform() < 0.5 else rng.uniform(0, np.pi / 2)
        p = rng.uniform(4.0, 10.0) * s
        ca, sa = np.cos(a) / p, np.sin(a) / p
        t = ((np.floor(x * ca + y * sa) + np.floor(y * ca - x * sa)) % 2).astype(np.float32)
        return _colorize(t, c0, c1)
    if kind == "dots":
        layer = np.empty((hi, hi, 3), np.uint8)
        layer[:] = np.round(c0).astype(np.uint8)
        p = rng.uniform(5.0, 10.0) * s
        rad = int(rng.uniform(0.2, 0.35) * p * _ONE)
        off = rng.uniform(0, p, size=2)
        stagger = rng.uniform() < 0.5
        col = np.round(c1).tolist()
        for j, yy in enumerate(np.arange(off[1] - p, hi + p, p)):
            dx = p / 2 if stagger and j % 2 else 0.0
            for xx in np.arange(off[0] - p + dx, hi + p, p):
                cv2.circle(layer, (int(xx * _ONE), int(yy * _ONE)), rad, col, -1, cv2.LINE_8, _SHIFT)
        return layer
    # low-amplitude smooth noise around a flat colour (a few px correlation length, not per-pixel)
    g = _BASE // int(rng.integers(4, 9))       # fixed grid: the same noise at every output size
    amp = rng.uniform(6.0, 14.0)
    noise = np.clip(np.round(c0 + amp * rng.normal(0.0, 1.0, size=(g, g, 3))), 0, 255).astype(np.uint8)
    noise = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.resize(noise, (hi, hi), interpolation=cv2.INTER_NEAREST)


def draw_pattern_region(rng, canvas, size, hi, bg_mean, stripes: bool, whole: bool = False):
    c0 = random_color(rng, bg_mean)
    c1 = random_color(rng, c0, 70)
    layer = (_stripes_layer if stripes else _texture_layer)(rng, size, hi, c0, c1)
    if whole:
        canvas[:] = layer
        return
    mask, _, _ = _shape_mask(rng, hi, pick(rng, ("polygon", "ellipse", "rectangle", "halfplane"),
                                            (0.2, 0.3, 0.35, 0.15)))
    _paste(canvas, layer, mask)
