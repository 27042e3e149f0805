"""TensorBoard summaries of a training run: loss scalars, speed, and image grids (drawn by :mod:`gain_tf.pictures`)."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from gain_tf.pictures import guidance_gray, magnitude, magnitude_scale


def write_scalars(metrics: dict, steps_per_sec: float) -> None:
    """``loss/<name>`` for every loss and ``speed/steps_per_sec`` (inside a writer's context)."""
    for k, v in metrics.items():
        tf.summary.scalar(f"loss/{k}", v)
    tf.summary.scalar("speed/steps_per_sec", steps_per_sec)


def guidance_grid(target, output) -> np.ndarray:
    """``target | output`` guidance maps ``[N, H, W, C]`` side by side as float32 ``[N, H, 2W, 1]``
    in [0, 1] (:func:`gain_tf.pictures.guidance_gray`): gradients on one scale per example, that
    of its target; edges as probabilities (the output's logits through a sigmoid)."""
    target, output = np.asarray(target, np.float32), np.asarray(output, np.float32)
    rows = []
    for t, o in zip(target, output):
        scale = magnitude_scale(magnitude(t)) if t.shape[-1] >= 2 else None
        rows.append(np.concatenate([guidance_gray(t, scale, logits=False),
                                    guidance_gray(o, scale)], axis=1))
    return np.stack(rows)[..., None]


def write_images(generator, batch, max_outputs: int = 4) -> None:
    """Image grids (inside a writer's context): masked input | output | composite | ground truth,
    guidance (target | output, :func:`guidance_grid`), and the per-block masks of the first
    example."""
    guide = generator.guidance
    out = generator(guide.generator_inputs(batch), return_masks=True)
    image, valid = batch["image"][:max_outputs], batch["valid"][:max_outputs]
    masked = image * valid + (1.0 - valid)  # holes white
    row = tf.concat([masked, out["image"][:max_outputs], out["composite"][:max_outputs], image], 2)
    tf.summary.image("inpainting/masked|output|composite|truth", (row + 1.0) / 2.0,
                     max_outputs=max_outputs)
    if "gradient" in out:
        grid = guidance_grid(guide.target(batch)[:max_outputs], out["gradient"][:max_outputs])
        tf.summary.image("guidance/target|output", grid, max_outputs=max_outputs)
    h, w = image.shape[1], image.shape[2]
    masks = [tf.image.resize(m[:1], (h, w), method="nearest") for _, m in out["masks"]]
    tf.summary.image("masks/per_block", tf.concat(masks[:16], 2), max_outputs=1)
