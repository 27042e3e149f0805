"""experiments/shrinkage.py: the table and picture of how branch 1's hole shrinks."""
import numpy as np
import tensorflow as tf

from experiments.shrinkage import shrinkage
from gain_tf.config import get_config
from gain_tf.masks import bucket_mask
from gain_tf.models import GAINGenerator
from gain_tf.synthetic import generate_scene


def test_table_counts_the_masks_and_the_picture_shows_them():
    tf.keras.utils.set_random_seed(0)
    g = GAINGenerator(get_config("tiny", structure_dilation_blocks=3, mask_priority_blocks=2))
    image = generate_scene(np.random.default_rng(0), 64)
    valid = bucket_mask((0.5, 0.6), 0, 64, 64)
    rows, picture = shrinkage(g, image, valid, tile=64)
    names = [r[0] for r in rows]
    assert names[0] == "down2" and names[1:5] == ["dil1_2", "dil1_4", "dil1_8", "dil1_16"]
    assert len(rows) == 1 + 3 * 4
    holes = [r[1] for r in rows]
    assert holes[0] > 0 and holes[-1] == 0 and all(a >= b for a, b in zip(holes, holes[1:]))
    assert [r[2] for r in rows[1:]] == [a - b for a, b in zip(holes, holes[1:])]
    # input, down2, dil1_16, dil2_16, then one tile per block until the hole is closed
    closed = holes.index(0)
    n_tiles = 1 + 3 + max(0, closed - 8)
    assert picture.dtype == np.uint8 and picture.shape[1] >= n_tiles * 64
