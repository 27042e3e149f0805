"""The demo's code path at a small size: data -> records -> training -> export -> evaluation ->
inpainting -> pictures; the composite differs from the input inside holes and equals it outside."""
import os

import numpy as np
import pytest

from experiments import demo
from experiments.demo import run_demo
from gain_tf.config import get_config
from gain_tf.inference import inpaint_arrays, load_saved_model
from gain_tf.images import read_image, read_gray
from gain_tf.synthetic import generate_scenes


@pytest.mark.slow   # end to end: make test-all only
def test_demo_end_to_end_small(tmp_path):
    config = get_config("demo", image_size=32, steps=3, batch_size=4)
    out = run_demo(str(tmp_path / "demo"), config=config, num_train=16, num_eval=4, shipped_images=8)
    for name in ("demo_grid.png", "mask_shrinkage.png", "results.md", "results.csv"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    table = open(os.path.join(out, "results.md")).read()
    for method in ("GAIN", "Telea", "Navier-Stokes"):
        assert method in table
    # The shipped model's section: its table beside the baselines, its gradient beside zero.
    shipped = open(os.path.join(out, "shipped", "results.md")).read()
    for method in ("| GAIN |", "| Telea |", "| Navier-Stokes |", "| GAIN ∇I* |", "| zero gradient ∇ |"):
        assert method in shipped
    assert os.path.getsize(os.path.join(out, "shipped", "grid_GAIN_30-40.png")) > 0
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
    # The timed warm-up on the demo's records: a rate and a tracing time.
    from gain_tf.train.timing import time_train_step
    rate, trace_s = time_train_step(config, os.path.join(out, "data", "records", "train-*.tfrecord"),
                                    0, seconds=0.2)
    assert rate > 0 and trace_s > 0


def test_timed_demo_fits_its_steps_to_the_deadline():
    """Steps = 90 % of (training budget - tracing) x rate, the budget being the smaller of
    --train_minutes and what the deadline leaves after the time spent and the reserve for export
    and evaluation (larger on a slower machine). (Reusing a finished run: tests/test_run_dir.py.)"""
    from gain_tf.train.timing import fit_steps
    for rate, reserve in ((6.2, 40.0), (1.55, 160.0)):  # a fast and a 4x slower machine
        steps, line = fit_steps(rate, 20.0, left_s=540.0, train_minutes=6.0)  # 1 of 10 min spent
        budget = min(360.0, 540.0 - reserve)
        assert abs(steps - 0.9 * (budget - 20.0) * rate) <= 2, (rate, steps)
        assert f"{steps} steps" in line and f"{reserve:.0f} s kept" in line
    steps, _ = fit_steps(6.2, 20.0, left_s=40.0, train_minutes=6.0)
    assert steps == 50  # past the deadline already: the minimum
