"""experiments/ablation.py end to end on a tiny set: one row per variant, finite numbers; every
variant trains a few steps and exports through the same code paths."""
import csv
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from experiments import ablation
from gain_tf.config import ABLATIONS, get_config
from gain_tf.masks import BUCKETS
from gain_tf.synthetic import write_scene_folder

pytestmark = pytest.mark.slow   # end to end (six trainings and two exports): make test-all only

VARIANTS = sorted(ABLATIONS)
EXPORTED = ("guidance_edge", "guidance_none")
SHALLOW = dict(structure_dilation_blocks=1, content_dilation_blocks=1, dilations=(2, 4))


@pytest.fixture(scope="module")
def ablation_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablation")
    data = str(root / "scenes")
    write_scene_folder(data, 8, size=32, seed=0)
    out = str(root / "out")
    # A shallower tiny network (one dilation block of two rates per branch) keeps tracing short.
    config = get_config("tiny", steps=2, batch_size=4, image_size=32, **SHALLOW)
    rows = ablation.run(config, data, None, out, VARIANTS, num_images=4, buckets=BUCKETS[2:4],
                        seed=0, num_grid=2)
    # The variants whose serving graph differs (edge input computed in the graph; no gradient)
    # are exported from their run folders (export reloads and checks the SavedModel).
    from gain_tf.export import export_saved_model
    from gain_tf.inference import load_generator
    for variant in EXPORTED:
        d = os.path.join(out, variant)
        export_saved_model(load_generator(d), os.path.join(d, "export"))
    return out, rows


def test_table_has_one_row_per_variant_with_finite_numbers(ablation_run):
    out, rows = ablation_run
    with open(os.path.join(out, "ablation.csv")) as f:
        table = list(csv.reader(f))
    header, body = table[0], table[1:]
    assert [r[0] for r in body] == VARIANTS + ["Telea", "Navier-Stokes"]
    assert sum("PSNR" in h for h in header) == 2
    for r in body:
        for cell, name in zip(r[1:], header[1:]):
            if "FID" in name:
                assert cell == "n/a"  # no Inception weights given
            else:
                assert math.isfinite(float(cell)), (r[0], name, cell)
    assert os.path.exists(os.path.join(out, "ablation.md"))
    assert os.path.exists(os.path.join(out, "ablation_grid.png"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_trained_and_exported(ablation_run, variant):
    """Each variant trained its steps and was evaluated; the exported ones went through export
    (which reloads the SavedModel and checks it against the in-memory model), and the edge
    variant's export is also run here."""
    out, _ = ablation_run
    d = os.path.join(out, variant)
    assert os.path.exists(os.path.join(d, "done.json"))
    assert tf.train.latest_checkpoint(os.path.join(d, "checkpoints")).endswith("ckpt-2")
    assert os.path.exists(os.path.join(d, "eval", "results.md"))
    assert os.path.exists(os.path.join(d, "export", "saved_model.pb")) == (variant in EXPORTED)
    if variant != "guidance_edge":
        return
    loaded = tf.saved_model.load(os.path.join(d, "export"))
    image = np.full((1, 37, 45, 3), 128, np.uint8)
    image[:, :, 20:] = 30  # an edge for Canny
    mask = np.zeros((1, 37, 45, 1), np.uint8)
    mask[0, 10:20, 10:30] = 255
    res = loaded.signatures["serving_default"](image=tf.constant(image), mask=tf.constant(mask))
    got = res["inpainted"].numpy()
    assert got.shape == image.shape and got.dtype == np.uint8
    assert np.array_equal(got[mask[..., 0] == 0], image[mask[..., 0] == 0])
    assert res["gradient"].shape == (1, 37, 45, 1)  # the predicted edge map


def test_rerun_does_not_retrain(ablation_run, capsys):
    out, _ = ablation_run
    before = os.path.getmtime(os.path.join(out, "gain", "done.json"))
    config = get_config("tiny", steps=2, image_size=32, batch_size=4, **SHALLOW)
    ablation.train_variant("gain", config, os.path.join(out, "gain"), None, 0)
    assert "trained earlier" in capsys.readouterr().out
    assert os.path.getmtime(os.path.join(out, "gain", "done.json")) == before
