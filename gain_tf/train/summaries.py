"""TensorBoard summaries of a training run: loss scalars, speed, and image grids."""
from __future__ import annotations

import tensorflow as tf

from gain_tf.layers.gradient import gradient_magnitude


def write_scalars(metrics: dict, steps_per_sec: float) -> None:
    """``loss/<name>`` for every loss and ``speed/steps_per_sec`` (inside a writer's context)."""
    for k, v in metrics.items():
        tf.summary.scalar(f"loss/{k}", v)
    tf.summary.scalar("speed/steps_per_sec", steps_per_sec)


def write_images(generator, batch, max_outputs: int = 4) -> None:
    """Image grids (inside a writer's context): masked input | output | composite | ground truth,
    guidance magnitudes (target | output), and the per-block masks of the first example."""
    guide = generator.guidance
    out = generator(guide.generator_inputs(batch), return_masks=True)
    image, valid = batch["image"][:max_outputs], batch["valid"][:max_outputs]
    masked = image * valid + (1.0 - valid)  # holes white
    row = tf.concat([masked, out["image"][:max_outputs], out["composite"][:max_outputs], image], 2)
    tf.summary.image("inpainting/masked|output|composite|truth", (row + 1.0) / 2.0, max_outputs)
    if "gradient" in out:
        target = guide.target(batch)[:max_outputs]
        pred = out["gradient"][:max_outputs]
        if pred.shape[-1] == 2:
            target, pred = gradient_magnitude(target), gradient_magnitude(pred)
        mags = tf.concat([target, pred], 2)
        mags = mags / tf.maximum(tf.reduce_max(mags, axis=[1, 2, 3], keepdims=True), 1e-6)
        tf.summary.image("guidance/target|output", mags, max_outputs)
    h, w = image.shape[1], image.shape[2]
    masks = [tf.image.resize(m[:1], (h, w), method="nearest") for _, m in out["masks"]]
    tf.summary.image("masks/per_block", tf.concat(masks[:16], 2), 1)
