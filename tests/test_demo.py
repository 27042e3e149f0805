"""The demo's code path at a small size: data -> records -> training -> export -> evaluation ->
inpainting -> pictures; the composite differs from the input inside holes and equals it outside."""
import os

import numpy as np

from experiments.demo import run_demo
from gain_tf.export import inpaint_arrays, load_saved_model
from gain_tf.images import read_image, read_gray
from gain_tf.synthetic import generate_scenes


def test_demo_end_to_end_small(tmp_path):
    out = run_demo(str(tmp_path / "demo"), image_size=32, steps=3, batch_size=4, num_train=16,
                   num_eval=4)
    for name in ("demo_grid.png", "mask_shrinkage.png", "results.md", "results.csv"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    table = open(os.path.join(out, "results.md")).read()
    for method in ("GAIN", "Telea", "Navier-Stokes"):
        assert method in table
    # The held-out images inpainted by the exported model.
    inp = sorted(f for f in os.listdir(os.path.join(out, "inpainted")) if f.endswith("_inpainted.png"))
    assert inp
    held = generate_scenes(1, size=32, seed=1)[0]  # scene 0 of the held-out set (seed + 1)
    got = read_image(os.path.join(out, "inpainted", inp[0]))
    hole = read_gray(os.path.join(out, "inpainted", inp[0].replace("_inpainted", "_mask"))) > 127
    assert hole.any() and (~hole).any()
    np.testing.assert_array_equal(got[~hole], held[~hole])  # known pixels bit-exact
    assert np.any(got[hole] != held[hole])  # the holes were filled by the model, not copied
    # The exported model on a fresh example gives the same pictures as the files.
    model = load_saved_model(os.path.join(out, "saved_model"))
    again = inpaint_arrays(model, held, np.where(hole, 255, 0).astype(np.uint8))
    np.testing.assert_array_equal(again, got)
