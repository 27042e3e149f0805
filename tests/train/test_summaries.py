"""TensorBoard summaries: the scalars and image grids a run writes, read back from the event file."""
import glob

import numpy as np
import tensorflow as tf

from gain_tf.config import get_config
from gain_tf.models import GAINGenerator
from gain_tf.train import summaries
from tests.train.helpers import SIZE, hole_masks, smooth_images


def read_events(log_dir):
    """``{tag: [(step, summary value)]}`` of every event file in ``log_dir``."""
    out = {}
    for path in glob.glob(f"{log_dir}/events.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v))
    return out


def test_scalars_and_grids_are_written(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    g = GAINGenerator(get_config("tiny", image_size=SIZE))
    batch = {"image": tf.constant(smooth_images()), "valid": tf.constant(hole_masks())}
    with writer.as_default(step=3):
        summaries.write_scalars({"g_total": 1.5, "l1_hole": 0.25}, steps_per_sec=4.0)
        summaries.write_images(g, batch, max_outputs=4)
    writer.flush()
    events = read_events(str(tmp_path))
    assert {"loss/g_total", "loss/l1_hole", "speed/steps_per_sec", "guidance/target|output",
            "inpainting/masked|output|composite|truth", "masks/per_block"} <= set(events)
    assert {tag: [step for step, _ in values] for tag, values in events.items()} == {
        tag: [3] for tag in events}    # every summary at the writer's step, once
    value = tf.make_ndarray(events["loss/l1_hole"][0][1].tensor)
    np.testing.assert_allclose(value, 0.25)
    grid = events["inpainting/masked|output|composite|truth"][0][1].tensor.string_val
    assert len(grid) == 2 + 4          # width, height, then one PNG per example (all 4)
    assert len(events["guidance/target|output"][0][1].tensor.string_val) == 2 + 4
    assert len(events["masks/per_block"][0][1].tensor.string_val) == 2 + 1
    png = tf.io.decode_png(grid[2]).numpy()
    assert png.shape == (SIZE, 4 * SIZE, 3)
