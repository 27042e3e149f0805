"""Canny in TensorFlow ops, pixel for pixel equal to OpenCV's, and the edge guidance input."""
import cv2
import numpy as np
import pytest
import tensorflow as tf

from gain_tf import edges

SIZE = 32


def test_edge_guidance_is_binary_and_equals_opencv_canny():
    rng = np.random.default_rng(1)
    image = np.zeros((2, SIZE, SIZE, 3), np.float32) - 0.6
    image[:, :, 14:] = 0.7
    image[1, 20:] = 0.1
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    valid = np.ones((2, SIZE, SIZE, 1), np.float32)
    valid[:, 8:16, 6:22] = 0
    got = edges.masked_canny(tf.constant(image), tf.constant(valid), 100, 200).numpy()
    assert set(np.unique(got)) <= {0.0, 1.0} and got.sum() > 0
    for n in range(2):
        masked = image[n] * valid[n]
        gray = np.clip(np.round((masked @ np.array([0.299, 0.587, 0.114], np.float32) + 1) * 127.5),
                       0, 255).astype(np.uint8)
        ref = (cv2.Canny(gray, 100, 200) > 0).astype(np.float32)
        eroded = cv2.erode(valid[n, ..., 0], np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                           borderValue=0)
        np.testing.assert_array_equal(got[n, ..., 0], ref * eroded)


@pytest.mark.parametrize("low,high", [(100, 200), (20, 60), (200, 100)])
def test_tensorflow_canny_equals_opencv(low, high):
    from gain_tf.synthetic import generate_scenes
    rng = np.random.default_rng(2)
    gray = np.concatenate([generate_scenes(6, size=48, seed=4).mean(-1).astype(np.uint8),
                           rng.integers(0, 256, (2, 48, 48), dtype=np.uint8)])
    got = edges.canny_tf(tf.constant(gray[..., None], tf.int32), low, high).numpy()[..., 0]
    for g, e in zip(gray, got):
        np.testing.assert_array_equal(e, (cv2.Canny(g, low, high) > 0).astype(np.float32))
