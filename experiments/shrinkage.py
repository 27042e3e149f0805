"""How GAIN's mask-shrinkage priority fills a hole, block by block, in branch 1.

Prints the hole pixels left after each block of branch 1 (structure) and writes a picture strip:
the masked input, then the mask after each block at 1/2**num_downsamples resolution (1/4 by
default; holes white). By default the
model is the paper's depth (6 dilation blocks, priority in the first 4) with tiny widths and its
initial weights, on a built-in scene at 256×256 with a seeded 50–60 % hole; ``--model_dir`` uses a
trained run instead (its config and latest checkpoint)::

    python -m experiments.shrinkage --output=docs/mask_shrinkage.png
    python -m experiments.shrinkage --model_dir=runs/celebahq --image=face.png --output=order.png
"""
from __future__ import annotations

import os
import sys

from absl import app, flags

from experiments import no_extra_args

FLAGS = flags.FLAGS


def define_flags():
    """Defines this tool's flags (called by ``__main__`` only, so modules import cleanly)."""
    flags.DEFINE_string("model_dir", None, "A training run (config.json and checkpoints); default: "
                        "the paper's depth with --image_channels/--gradient_channels, untrained.")
    flags.DEFINE_integer("image_channels", 4, "Image-stream width of the untrained model.")
    flags.DEFINE_integer("gradient_channels", 8, "Gradient-stream width of the untrained model.")
    flags.DEFINE_string("image", None, "An image file (default: a built-in scene).")
    flags.DEFINE_integer("size", 256, "Image size (the image is resized to size × size).")
    flags.DEFINE_float("hole", 0.5, "Hole ratio: the seeded mask lies in [hole, hole + 0.1).")
    flags.DEFINE_integer("seed", 0, "Seed of the mask, the scene and the untrained weights.")
    flags.DEFINE_string("output", "mask_shrinkage.png", "The picture strip (PNG).")


def branch1_holes(generator, image, valid):
    """``[(block name, mask [H', W'])]`` of the first sample after each block of branch 1 on the
    ``1/2**num_downsamples`` grid, from the last stride-2 block on (the priority blocks follow it)."""
    from gain_tf.serving import branch1_masks
    out = generator(generator.guidance.serving_inputs(image, valid), training=False, return_masks=True)
    branch1 = branch1_masks(out["masks"], generator.config.model.num_downsamples)
    return [(name, m[0, ..., 0].numpy()) for name, m in branch1]


def shrinkage(generator, image_uint8, valid, tile=128):
    """The table rows ``(block, holes left, admitted)`` and the picture strip (uint8 RGB): the
    masked input, then the mask (holes white) after the last stride-2 block, after each priority
    dilation block, and after every later block until the hole is closed, labelled with the hole
    pixels left; each tile ``tile`` px wide (nearest resize)."""
    import tensorflow as tf

    from gain_tf.images import to_model_range
    from gain_tf.pictures import shrinkage_strip
    image = tf.constant(to_model_range(image_uint8[None]))
    steps = branch1_holes(generator, image, tf.constant(valid[None]))
    rows, before = [], None
    for name, m in steps:
        holes = int((1 - m).sum())
        rows.append((name.replace("structure_", ""), holes, None if before is None else before - holes))
        before = holes
    # The picture: input, the last stride-2 block, the end of each priority dilation block, then
    # every block until the hole is closed.
    config = generator.config.model
    last = f"_{config.dilations[-1]}"
    keep = [i for i, (name, _) in enumerate(steps)
            if i == 0 or (name.endswith(last) and int(name.split("_dil")[1].split("_")[0])
                          <= config.mask_priority_blocks)]
    closed = next((i for i, row in enumerate(rows) if row[1] == 0), len(rows) - 1)
    keep += [i for i in range(keep[-1] + 1, closed + 1)]
    labels = ["input"] + [f"{rows[i][0]}: {rows[i][1]}" for i in keep]
    return rows, shrinkage_strip(image_uint8, [valid[..., 0]] + [steps[i][1] for i in keep], labels,
                                 grid=2 ** config.num_downsamples, tile=tile)


def main(argv):
    no_extra_args(argv)
    import numpy as np
    import tensorflow as tf

    from gain_tf.images import read_image, write_png
    from gain_tf.masks import bucket_mask
    if FLAGS.model_dir:
        from gain_tf.inference import load_generator
        generator = load_generator(FLAGS.model_dir)
    else:
        from gain_tf.config import get_config
        from gain_tf.models import GAINGenerator
        tf.keras.utils.set_random_seed(FLAGS.seed)
        generator = GAINGenerator(get_config("paper", image_channels=FLAGS.image_channels,
                                             gradient_channels=FLAGS.gradient_channels))
    size = FLAGS.size
    if FLAGS.image:
        import cv2
        image = cv2.resize(read_image(FLAGS.image), (size, size), interpolation=cv2.INTER_AREA)
    else:
        from gain_tf.synthetic import generate_scene
        image = generate_scene(np.random.default_rng(FLAGS.seed), size)
    valid = bucket_mask((FLAGS.hole, min(FLAGS.hole + 0.1, 1.0)), 0, size, size, FLAGS.seed)
    rows, picture = shrinkage(generator, image, valid)
    print(f"hole: {1 - valid.mean():.1%} of {size}x{size}; branch 1 at "
          f"1/{2 ** generator.config.model.num_downsamples} resolution")
    print("| block | holes left | admitted |\n|---|---:|---:|")
    for name, holes, admitted in rows:
        print(f"| {name} | {holes} | {'' if admitted is None else admitted} |")
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    write_png(FLAGS.output, picture)
    print(f"wrote {FLAGS.output}")
    return 0


if __name__ == "__main__":
    define_flags()
    sys.exit(app.run(main))
