"""gain_tf.masks (the convention, bucket masks), gain_tf.strokes (free-form masks), gain_tf.mask_files
(mask files: white = hole; augmentation)."""
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from gain_tf import mask_files as F
from gain_tf import masks as M
from gain_tf import strokes as S
from gain_tf.images import ImageReadError


def _bucket_masks(bucket, count, height, width, seed=0):
    return np.stack([M.bucket_mask(bucket, i, height, width, seed) for i in range(count)])


def _is_binary_valid(v, shape):
    return v.shape == shape and v.dtype == np.float32 and set(np.unique(v)) <= {0.0, 1.0}


def test_conversions_unchanged():
    hole = np.array([[0, 255], [128, 1]], np.uint8)
    valid = M.valid_from_hole_mask(hole)
    np.testing.assert_array_equal(valid[..., 0], [[1, 0], [0, 0]])
    np.testing.assert_array_equal(M.hole_mask_from_valid(valid)[..., 0], [[0, 255], [255, 255]])


@pytest.mark.parametrize("as_tensor", [False, True])
def test_a_stack_of_masks_n_h_w_is_not_read_as_channels(as_tensor):
    """``[N, H, W]`` hole masks give ``[N, H, W, 1]``, mask by mask; ``[H, W, 3]`` stays one
    colour mask (a hole in any channel)."""
    stack = np.zeros((2, 5, 6), np.uint8)
    stack[0, 1, 2] = 255
    stack[1, 3, 4] = 255
    convert = lambda m: np.asarray(M.valid_from_hole_mask(tf.constant(m) if as_tensor else m))
    valid = convert(stack)
    assert valid.shape == (2, 5, 6, 1)
    np.testing.assert_array_equal(valid[..., 0], (stack == 0).astype(np.float32))
    np.testing.assert_array_equal(M.hole_ratio(valid), [1 / 30, 1 / 30])
    np.testing.assert_array_equal(M.hole_ratio(valid[..., 0]), [1 / 30, 1 / 30])
    colour = np.zeros((5, 6, 3), np.uint8)
    colour[1, 2, 1] = 255
    valid = convert(colour)
    assert valid.shape == (5, 6, 1) and valid[..., 0].sum() == 29 and valid[1, 2, 0] == 0


def test_free_form_mask_shape_values_and_seeding():
    a = S.free_form_mask(np.random.default_rng(3), 64, 80)
    b = S.free_form_mask(np.random.default_rng(3), 64, 80)
    c = S.free_form_mask(np.random.default_rng(4), 64, 80)
    assert _is_binary_valid(a, (64, 80, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 0 < M.hole_ratio(a) < 1


def test_training_masks_spread_over_hole_ratios():
    rng = np.random.default_rng(0)
    ratios = np.array([M.hole_ratio(S.free_form_mask(rng, 64, 64)) for _ in range(200)])
    hist, _ = np.histogram(ratios, bins=[0, .1, .2, .3, .4, .5, .6, 1])
    assert (hist >= 5).sum() >= 4, hist          # mass in several bins, not one typical size
    assert hist.max() <= 0.6 * len(ratios), hist
    no_box = [M.hole_ratio(S.free_form_mask(rng, 64, 64, box_prob=0)) for _ in range(50)]
    assert np.mean(no_box) < np.mean(ratios)     # the optional box adds holes


def test_free_form_masks_stack_is_prefix_stable():
    a = S.free_form_masks(6, 32, 32, seed=5)
    b = S.free_form_masks(3, 32, 32, seed=5, dtype=np.uint8)
    assert a.shape == (6, 32, 32, 1) and b.dtype == np.uint8
    np.testing.assert_array_equal(a[:3], b)


@pytest.mark.parametrize("bucket", M.BUCKETS, ids=M.bucket_name)
def test_bucket_masks_lie_in_bucket_and_repeat(bucket):
    ms = _bucket_masks(bucket, 10, 64, 64, seed=11)
    assert _is_binary_valid(ms, (10, 64, 64, 1))
    ratios = M.hole_ratio(ms)
    assert ratios.shape == (10,)
    assert all(M.in_bucket(r, bucket) for r in ratios), ratios
    np.testing.assert_array_equal(ms, _bucket_masks(bucket, 10, 64, 64, seed=11))      # run to run
    np.testing.assert_array_equal(ms[:4], _bucket_masks(bucket, 4, 64, 64, seed=11))   # count-independent
    assert not np.array_equal(ms, _bucket_masks(bucket, 10, 64, 64, seed=12))
    assert len({m.tobytes() for m in ms}) == 10


def test_bucket_masks_non_square_and_names():
    ms = _bucket_masks((0.3, 0.4), 3, 48, 96, seed=0)
    assert ms.shape == (3, 48, 96, 1) and all(0.3 <= r < 0.4 for r in M.hole_ratio(ms))
    assert [M.bucket_name(b) for b in M.BUCKETS] == ["10-20%", "20-30%", "30-40%", "40-50%", "50-60%"]
    with pytest.raises(ValueError):
        _bucket_masks((0.5, 0.2), 1, 32, 32)


def test_irregular_training_masks_cover_the_buckets_and_never_repeat_evaluation_masks():
    ms = M.irregular_masks(20, 64, 64, seed=0)
    assert _is_binary_valid(ms, (20, 64, 64, 1))
    for i, r in enumerate(M.hole_ratio(ms)):    # mask i lies in bucket i % 5: evenly spread
        assert M.in_bucket(r, M.BUCKETS[i % 5]), (i, r)
    np.testing.assert_array_equal(ms[:7], M.irregular_masks(7, 64, 64, seed=0))  # seeded, prefix-stable
    assert not np.array_equal(ms, M.irregular_masks(20, 64, 64, seed=1))
    # Disjoint from the evaluation masks drawn with the same seed, whichever index and bucket.
    evaluation = {M.bucket_mask(b, i, 64, 64, seed=0).tobytes() for b in M.BUCKETS for i in range(20)}
    assert not evaluation & {m.tobytes() for m in ms}
    only_large = M.irregular_masks(4, 32, 32, buckets=[(0.5, 0.6)])
    assert all(0.5 <= r < 0.6 for r in M.hole_ratio(only_large))


def test_hole_ratio():
    v = np.ones((2, 10, 10, 1), np.float32)
    v[0, :5] = 0
    assert M.hole_ratio(v[0]) == 0.5 and M.hole_ratio(v[1, ..., 0]) == 0.0
    np.testing.assert_allclose(M.hole_ratio(v), [0.5, 0.0])


def _mask_png(path, hole):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(path, hole)


def test_load_mask_file_white_is_hole_threshold_and_resize(tmp_path):
    hole = np.zeros((8, 8), np.uint8)
    hole[:4, :4] = 255      # white: hole
    hole[6, 6] = 200        # above FILE_HOLE_THRESHOLD: hole
    hole[7, 7] = 100        # below: known
    p = str(tmp_path / "m.png")
    _mask_png(p, hole)
    v = F.load_mask_file(p)
    assert _is_binary_valid(v, (8, 8, 1))
    assert (v[:4, :4] == 0).all() and v[6, 6, 0] == 0 and v[7, 7, 0] == 1 and v[4:6].all()
    big = F.load_mask_file(p, size=16)               # nearest neighbour: blocks stay binary
    assert _is_binary_valid(big, (16, 16, 1)) and (big[:8, :8] == 0).all() and M.hole_ratio(big) == M.hole_ratio(v)
    assert F.load_mask_file(p, size=(4, 8)).shape == (4, 8, 1)
    red = np.zeros((4, 4, 3), np.uint8)
    red[0, 0] = (0, 0, 255)                          # a colour mark counts as hole too
    cv2.imwrite(str(tmp_path / "red.png"), red)
    assert F.load_mask_file(str(tmp_path / "red.png"))[0, 0, 0] == 0


def test_read_mask_brightest_channel_times_alpha(tmp_path):
    bgra = np.zeros((2, 4, 4), np.uint8)
    bgra[..., :3] = 255                                   # white everywhere, even where transparent
    bgra[0, :, 3] = [0, 127, 128, 255]                    # alpha: level = round(255 * a / 255)
    bgra[1, :, :3] = [[0, 0, 200], [0, 90, 0], [0, 0, 0], [255, 255, 255]]  # BGR: red 200, green 90
    bgra[1, :, 3] = [255, 255, 255, 64]
    cv2.imwrite(str(tmp_path / "m.png"), bgra)
    level = F.read_mask(str(tmp_path / "m.png"))
    np.testing.assert_array_equal(level, [[0, 127, 128, 255], [200, 90, 0, 64]])
    valid = F.load_mask_file(str(tmp_path / "m.png"))
    np.testing.assert_array_equal(valid[..., 0], [[1, 1, 0, 0], [0, 1, 1, 1]])


def test_mask_folder_and_non_image_error(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        _mask_png(str(tmp_path / "masks" / "sub" / f"{i:05d}.png"), (rng.random((16, 16)) > 0.7).astype(np.uint8) * 255)
    (tmp_path / "masks" / "readme.txt").write_text("not listed")
    folder = F.MaskFolder(str(tmp_path / "masks"), size=8)
    assert len(folder) == 3 and all(f.endswith(".png") for f in folder.files)
    assert folder[0].shape == (8, 8, 1)
    s = folder.sample(np.random.default_rng(1))
    assert _is_binary_valid(s, (8, 8, 1))

    bad = tmp_path / "masks" / "zz_bad.png"
    bad.write_text("hello, I am text")
    with pytest.raises(ImageReadError) as e:
        F.load_mask_file(str(bad))
    assert str(bad) in str(e.value) and len(str(e.value).splitlines()) == 1
    with pytest.raises(ImageReadError, match="zz_bad.png"):
        F.MaskFolder(str(tmp_path / "masks"))[3]
    os.makedirs(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="empty"):
        F.MaskFolder(str(tmp_path / "empty"))


def test_augment_mask():
    valid = S.free_form_mask(np.random.default_rng(0), 32, 32, box_prob=0)
    a = F.augment_mask(valid, np.random.default_rng(7))
    assert _is_binary_valid(a, (32, 32, 1))
    np.testing.assert_array_equal(a, F.augment_mask(valid, np.random.default_rng(7)))
    outs = {F.augment_mask(valid, np.random.default_rng(s)).tobytes() for s in range(8)}
    assert len(outs) > 4
    # dilation only: holes grow, never shrink
    d = F.augment_mask(valid, np.random.default_rng(1), flip=False, rot90=False, max_angle=0, max_dilate=3)
    assert ((valid == 0) <= (d == 0)).all() and M.hole_ratio(d) >= M.hole_ratio(valid)
    # non-square masks keep their shape
    assert F.augment_mask(np.ones((16, 24, 1), np.float32), np.random.default_rng(0)).shape == (16, 24, 1)
