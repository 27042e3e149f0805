"""gain_tf.synthetic: deterministic procedural scenes with structure (smooth fields + edges)."""
import os

import cv2
import numpy as np
import pytest

from gain_tf import images, synthetic


def _gradient_magnitude(image):
    """Sobel magnitude of the grey image, in grey levels per pixel (a unit ramp of slope s gives s)."""
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)) / 8.0


def _structure_stats(image):
    m = _gradient_magnitude(image)
    return m.mean(), (m < 3.0).mean(), (m > 15.0).mean()   # mean, flat fraction, edge fraction


@pytest.fixture(scope="module")
def scenes():
    return synthetic.generate_scenes(40, 64, seed=5)


def test_dtype_and_shape(scenes):
    assert scenes.shape == (40, 64, 64, 3) and scenes.dtype == np.uint8
    one = synthetic.generate_scene(np.random.default_rng(0), size=48)
    assert one.shape == (48, 48, 3) and one.dtype == np.uint8
    assert synthetic.generate_scenes(2, 96, seed=1).shape == (2, 96, 96, 3)


def test_deterministic_and_indexed(scenes):
    again = synthetic.generate_scenes(40, 64, seed=5)
    np.testing.assert_array_equal(scenes, again)
    # scene i depends only on (seed, i): not on count, and equals generate_scene with rng([seed, i])
    np.testing.assert_array_equal(synthetic.generate_scenes(3, 64, seed=5), scenes[:3])
    np.testing.assert_array_equal(synthetic.generate_scene(np.random.default_rng([5, 7]), 64), scenes[7])
    # different indices / seeds -> different images
    flat = scenes.reshape(len(scenes), -1)
    assert len({row.tobytes() for row in flat}) == len(scenes)
    other = synthetic.generate_scenes(40, 64, seed=6)
    assert not any(np.array_equal(a, b) for a, b in zip(scenes, other))


def test_scenes_are_varied(scenes):
    # not one colour scheme: mean colours spread, and images differ a lot pairwise
    means = scenes.reshape(len(scenes), -1, 3).mean(1)
    assert means.std(0).min() > 15
    diffs = np.abs(scenes[1:].astype(np.int16) - scenes[:-1]).mean((1, 2, 3))
    assert diffs.min() > 10


def test_scenes_have_structure_not_noise(scenes):
    stats = np.array([_structure_stats(im) for im in scenes])
    mean, flat, edge = stats.T
    assert (mean > 0.5).mean() >= 0.9, mean        # not blank
    assert (flat > 0.3).mean() >= 0.9, flat        # large smooth regions ...
    assert (edge > 0.005).mean() >= 0.9, edge      # ... and some sharp edges
    # the criterion separates structure from noise: uniform noise has almost no flat pixels
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert _structure_stats(noise)[1] < 0.1


def test_same_scene_at_any_size():
    small = synthetic.generate_scenes(4, 64, seed=2).astype(np.float32)
    big = synthetic.generate_scenes(4, 256, seed=2)
    down = np.stack([cv2.resize(b, (64, 64), interpolation=cv2.INTER_AREA) for b in big]).astype(np.float32)
    assert np.abs(small - down).mean() < 6.0


def test_write_scene_folder_resumable(tmp_path, monkeypatch):
    out = str(tmp_path / "scenes")
    paths = synthetic.write_scene_folder(out, 5, size=32, seed=3, prefix="syn")
    assert [os.path.basename(p) for p in paths] == [f"syn_{i:05d}.png" for i in range(5)]
    expected = synthetic.generate_scenes(5, 32, seed=3)
    for p, e in zip(paths, expected):
        np.testing.assert_array_equal(images.read_image(p), e)     # PNG: lossless
    assert not [f for f in os.listdir(out) if f.startswith(".tmp-")]

    # a second call with a larger count writes only the missing files
    os.remove(paths[2])
    written = []
    real_write = images.write_png
    monkeypatch.setattr(images, "write_png", lambda path, img: (written.append(path), real_write(path, img)))
    paths2 = synthetic.write_scene_folder(out, 7, size=32, seed=3, prefix="syn")
    assert sorted(written) == sorted([paths[2]] + paths2[5:])
    np.testing.assert_array_equal(images.read_image(paths2[2]), expected[2])
    np.testing.assert_array_equal(images.read_image(paths2[6]), synthetic.generate_scenes(7, 32, seed=3)[6])
