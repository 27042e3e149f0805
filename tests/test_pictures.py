"""gain_tf.pictures: masked-input pictures, grids, and the one scaling of guidance maps (the page's
views, the fill order and the shrinkage strip are tested with their tools: tests/test_app.py,
tests/test_shrinkage.py)."""
import numpy as np

from gain_tf import pictures
from tests.evaluation.references import pairs


def test_masked_input_picture_holes_white():
    img = np.full((2, 4, 4, 3), 7, np.uint8)
    valid = np.ones((2, 4, 4, 1), np.float32)
    valid[1, :2] = 0
    pic = pictures.masked_input_picture(img, valid)
    assert np.all(pic[1, :2] == 255) and np.all(pic[1, 2:] == 7) and np.all(pic[0] == 7)


def test_make_grid_shape_and_separators():
    a = np.zeros((16, 20, 3), np.uint8)
    gray = np.zeros((16, 20), np.uint8)
    grid = pictures.make_grid([[a, a, gray, a], [a, a, a, a]], separator=2)
    assert grid.shape == (2 * 16 + 2, 4 * 20 + 3 * 2, 3) and grid.dtype == np.uint8
    assert np.all(grid[16:18] == 255) and np.all(grid[:, 20:22] == 255)  # white separators
    assert np.all(grid[:16, :20] == 0)
    labelled = pictures.make_grid([[a, a]], labels=["input", "GAIN"])
    assert labelled.shape[1] == 2 * 20 + 2 and labelled.shape[0] > 16
    assert np.all(labelled[-16:, :20] == 0)


def test_comparison_grid_is_masked_input_outputs_ground_truth():
    out, gt = pairs(seed=9, n=2, h=16, w=20)
    valid = np.ones((2, 16, 20, 1), np.float32)
    valid[:, 4:10, 5:12] = 0
    outputs = {"b": out, "a": gt}  # columns keep the mapping's order
    got = pictures.comparison_grid(gt, valid, outputs)
    rows = [[pictures.masked_input_picture(gt[i], valid[i]), out[i], gt[i], gt[i]] for i in range(2)]
    np.testing.assert_array_equal(got, pictures.make_grid(rows, ["masked input", "b", "a", "ground truth"]))


def test_guidance_gray_one_scale_for_gradients_and_probabilities_for_edges():
    g = np.zeros((50, 50, 2), np.float32)
    g[10:40, 10:40, 0] = 3.0
    g[10:40, 10:40, 1] = 4.0                           # magnitude 5 inside, 0 outside
    gray = pictures.guidance_gray(g)
    assert gray.shape == (50, 50) and gray[20, 20] == 1.0 and gray[0, 0] == 0.0
    np.testing.assert_allclose(pictures.guidance_gray(g, scale=10.0)[20, 20], 0.5)
    assert pictures.magnitude_scale(pictures.magnitude(g)) == 5.0
    frame = np.zeros((50, 50), np.float32)
    frame[0, :] = 100.0                                # a padding artefact on the border is left out
    assert pictures.magnitude_scale(frame) == 0.0
    assert not pictures.guidance_gray(np.zeros((8, 8, 2))).any()      # guidance='none'
    np.testing.assert_allclose(pictures.guidance_gray(np.zeros((4, 4, 1))), 0.5)   # logit 0
    np.testing.assert_array_equal(pictures.guidance_gray(np.full((4, 4, 1), 0.25), logits=False), 0.25)
