"""gain_tf.evaluation.baselines: Telea and Navier–Stokes fill the holes and keep known pixels."""
import numpy as np
import pytest

from gain_tf.evaluation import baselines
from gain_tf.pictures import masked_input_picture


@pytest.mark.parametrize("fn", [baselines.inpaint_telea, baselines.inpaint_navier_stokes])
def test_classical_baselines_keep_known_pixels(fn):
    rs = np.random.RandomState(6)
    img = rs.randint(0, 256, (32, 40, 3)).astype(np.uint8)
    valid = np.ones((32, 40, 1), np.float32)
    valid[10:20, 12:25] = 0.0
    before = img.copy()
    holed = masked_input_picture(img, valid)  # holes white: the baseline must not see gt there
    out = fn(holed, valid)
    assert out.shape == img.shape and out.dtype == np.uint8
    known = valid[..., 0] > 0.5
    np.testing.assert_array_equal(out[known], img[known])
    assert np.any(out[~known] != 255)  # holes were filled, not left white
    np.testing.assert_array_equal(img, before)
    batch = fn(np.stack([holed, holed]), np.stack([valid, valid]))
    np.testing.assert_array_equal(batch[1], out)
