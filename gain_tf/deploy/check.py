"""The self-check of an export: its own runtime against TensorFlow (the SavedModel) on seeded images and masks, within fixed limits."""
from __future__ import annotations

import math

import numpy as np

# What an export must meet against TensorFlow (the SavedModel, or the checkpoint's in-memory model)
# on the check examples, in grey levels of the uint8 composite over hole pixels; known pixels must
# always come back bit-exact.
LIMITS = {
    "float32": {"max_diff": 2.0, "mean_diff": 0.1},   # TFLite float32, ONNX
    "float16": {"psnr_db": 40.0},                     # TFLite with float16 weights
}


class ExportCheckError(RuntimeError):
    """An export disagrees with the SavedModel beyond the limits; the message is one line."""


def check_examples(sizes, seed: int = 0) -> list:
    """Seeded ``(image uint8 [N,H,W,3], hole mask uint8 [N,H,W,1], 255 = hole)`` pairs, one per
    ``(N, H, W)`` in ``sizes``: synthetic scenes (:mod:`gain_tf.synthetic`, shapes, edges and
    textures, cropped to H×W) with evaluation masks of 10-30 % holes (:func:`gain_tf.masks.bucket_mask`).
    Example ``k`` depends only on ``(seed, k)`` and its size."""
    from gain_tf.masks import bucket_mask, hole_mask_from_valid
    from gain_tf.synthetic import generate_scenes

    examples = []
    for k, (n, h, w) in enumerate(sizes):
        scenes = generate_scenes(n, max(h, w), seed=seed * 1000 + k)[:, :h, :w]
        masks = np.stack([hole_mask_from_valid(bucket_mask((0.1, 0.3), i, h, w, seed=seed * 1000 + k))
                          for i in range(n)])
        examples.append((np.ascontiguousarray(scenes), masks))
    return examples


def compare(reference: np.ndarray, got: np.ndarray, hole_masks: np.ndarray) -> dict:
    """Figures of ``got`` against ``reference`` (uint8 ``[..., H, W, 3]`` each) for hole masks
    ``[..., H, W, 1]`` (non-zero = hole): ``known_changed`` (known pixel values that differ),
    ``max_diff`` / ``mean_diff`` (grey levels over hole pixel values) and ``psnr_db`` over hole
    pixel values (``inf`` when equal)."""
    if reference.shape != got.shape or got.dtype != np.uint8:
        raise ExportCheckError(f"output is {got.dtype} {got.shape}, expected uint8 {reference.shape}")
    hole = np.broadcast_to(np.asarray(hole_masks) > 0, reference.shape)
    diff = np.abs(reference.astype(np.int32) - got.astype(np.int32))
    holes = diff[hole].astype(np.float64)
    mse = float(np.mean(holes ** 2)) if holes.size else 0.0
    return {"known_changed": int(np.count_nonzero(diff[~hole])),
            "max_diff": float(holes.max()) if holes.size else 0.0,
            "mean_diff": float(holes.mean()) if holes.size else 0.0,
            "psnr_db": 10.0 * math.log10(255.0 ** 2 / mse) if mse > 0 else math.inf,
            "hole_values": int(holes.size)}


def failure(figures: dict, precision: str):
    """The first figure of ``figures`` outside the limits of ``precision`` (``'float32'`` or
    ``'float16'``), as one line (None if all are within)."""
    if figures["known_changed"]:
        return f"known pixel values changed = {figures['known_changed']} (limit 0: bit-exact)"
    limits = LIMITS[precision]
    for key, text in (("max_diff", "hole max |diff|"), ("mean_diff", "hole mean |diff|")):
        if key in limits and figures[key] > limits[key]:
            return f"{text} = {figures[key]:.3g} grey levels (limit {limits[key]:g})"
    if "psnr_db" in limits and figures["psnr_db"] < limits["psnr_db"]:
        return f"hole PSNR = {figures['psnr_db']:.1f} dB (limit {limits['psnr_db']:g} dB)"
    return None


def check_against(reference, candidate, examples, precision: str, name: str) -> dict:
    """Runs ``reference`` (the SavedModel's :class:`gain_tf.inference.Inpainter`) and ``candidate``
    (a runtime adapter of the export) on ``examples`` (:func:`check_examples`) and compares their
    ``inpainted`` outputs over all examples together.

    Returns the figures of :func:`compare` (plus ``examples``); raises :class:`ExportCheckError`
    with one line naming ``name``, the failing figure and its limit.
    """
    want, got, holes = [], [], []
    for image, mask in examples:
        want.append(np.asarray(reference(image, mask)["inpainted"]).reshape(-1))
        got.append(np.asarray(candidate(image, mask)["inpainted"]).reshape(-1))
        holes.append(np.broadcast_to(mask, image.shape).reshape(-1))
    try:
        figures = compare(np.concatenate(want), np.concatenate(got), np.concatenate(holes))
    except ExportCheckError as e:
        raise ExportCheckError(f"{name}: export refused: {e}") from None
    figures["examples"] = len(examples)
    why = failure(figures, precision)
    if why is not None:
        raise ExportCheckError(f"{name}: export refused: {why} against TensorFlow on "
                               f"{len(examples)} seeded examples")
    return figures
