"""gain_tf.data: training / evaluation pipelines from TFRecords and folders, determinism, distribution."""
import os

import numpy as np
import pytest
import tensorflow as tf

from data_prep.build_tfrecords import build
from gain_tf import data, train_masks
from gain_tf.images import list_image_files
from gain_tf import masks as M
from tests.image_folders import N_IMAGES, S, dirs, make_images, take  # noqa: F401 (dirs is a fixture)


def _check_batch(b, batch):
    assert set(b) >= {"image", "valid"}
    assert b["image"].shape == (batch, S, S, 3) and b["image"].dtype == np.float32
    assert b["valid"].shape == (batch, S, S, 1) and b["valid"].dtype == np.float32
    assert b["image"].min() >= -1.0 and b["image"].max() <= 1.0
    assert set(np.unique(b["valid"])) <= {0.0, 1.0}


def test_list_image_files(dirs):
    files = list_image_files(str(dirs / "src"))
    assert len(files) == N_IMAGES and files == sorted(files)


def test_train_records_shapes_ranges_and_masks(dirs):
    ds = data.train_dataset(str(dirs / "rec"), 4, S, seed=1, mask_pool_size=64)
    assert ds.element_spec["image"].shape.as_list() == [4, S, S, 3]
    batches = take(ds, 6)  # more than one epoch: repeats
    for b in batches:
        _check_batch(b, 4)
    ratios = np.concatenate([M.hole_ratio(b["valid"]) for b in batches])
    assert 0 < ratios.min() and ratios.max() < 1 and len(set(ratios.round(4))) > 5


@pytest.mark.parametrize("source", ["rec", "large", "src"])
def test_deterministic_mode_repeats_batches(dirs, source):
    def run():
        return take(data.train_dataset(str(dirs / source), 4, S, seed=7, deterministic=True, mask_pool_size=32,
                                       include_filename=True), 4)

    a, b = run(), run()
    for x, y in zip(a, b):
        _check_batch(x, 4)
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    c = take(data.train_dataset(str(dirs / source), 4, S, seed=8, deterministic=True, mask_pool_size=32), 1)
    assert not np.array_equal(a[0]["image"], c[0]["image"])


def test_one_epoch_without_repeat_sees_each_image_once(dirs):
    ds = data.train_dataset(str(dirs / "rec"), 3, S, seed=0, repeat=False, include_filename=True, mask_pool_size=16)
    names = [n for b in take(ds, 100) for n in b["filename"]]
    assert sorted(names) == sorted(f"img{i:02d}.png".encode() for i in range(N_IMAGES))


def test_folder_source_skips_unreadable_and_mask_folder(dirs, tmp_path):
    src = tmp_path / "src"
    make_images(str(src), 3, np.random.default_rng(1))
    (src / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    ds = data.train_dataset(str(src), 2, S, masks=str(dirs / "masks"), seed=0, repeat=False, include_filename=True)
    batches = take(ds, 10)
    names = sorted(n for b in batches for n in b["filename"])
    assert len(names) == 2 and all(b"broken" not in n for n in names)  # 3 readable, drop_remainder
    for b in batches:
        _check_batch(b, 2)
        assert 0 < M.hole_ratio(b["valid"]).min()


def test_fresh_free_form_masks_without_pool(dirs):
    b = take(data.train_dataset(str(dirs / "rec"), 2, S, seed=0, mask_pool_size=0, deterministic=True), 1)[0]
    _check_batch(b, 2)


def test_irregular_training_masks_in_the_pipeline(dirs):
    ds = data.train_dataset(str(dirs / "rec"), 4, S, masks="irregular", seed=2, deterministic=True,
                            mask_pool_size=50)
    batches = take(ds, 10)
    for b in batches:
        _check_batch(b, 4)
    ratios = np.concatenate([M.hole_ratio(b["valid"]) for b in batches])
    # Pool masks only get flipped and shifted, so every ratio is one of the pool's, all in 10-60 %.
    pool_ratios = set(np.round(M.hole_ratio(train_masks.irregular_pool(S, 50, 2)), 6))
    assert set(np.round(ratios, 6)) <= pool_ratios
    assert ratios.min() >= 0.1 and ratios.max() < 0.6 and ratios.max() >= 0.4
    with pytest.raises(ValueError, match="irregular"):
        train_masks.train_mask_dataset("no_such_kind", S)


def test_eval_dataset_buckets_deterministic(dirs):
    bucket = (0.2, 0.3)
    ds = data.eval_dataset(str(dirs / "val"), S, bucket, count=10, seed=3, batch_size=4)
    a = take(ds, 10)
    assert [len(b["filename"]) for b in a] == [4, 4, 2]
    names = [n.decode() for b in a for n in b["filename"]]
    assert names == [f"img{i:02d}.png" for i in range(10)]  # source order
    valid = np.concatenate([b["valid"] for b in a])
    assert all(M.in_bucket(r, bucket) for r in M.hole_ratio(valid))
    np.testing.assert_array_equal(valid, np.stack([M.bucket_mask(bucket, i, S, S, seed=3) for i in range(10)]))
    for b in a:
        assert b["image"].dtype == np.float32 and -1 <= b["image"].min() and b["image"].max() <= 1
    b2 = take(ds, 10)
    for x, y in zip(a, b2):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    # an image folder gives the same pictures (resized and centre-cropped like the builder, PNG is lossless)
    f = take(data.eval_dataset(str(dirs / "src"), S, bucket, count=4, seed=3, batch_size=4), 1)[0]
    np.testing.assert_array_equal(f["image"], a[0]["image"])


def test_eval_dataset_with_mask_dir(dirs):
    ds = data.eval_dataset(str(dirs / "val"), S, (0.1, 0.2), count=5, batch_size=5, mask_dir=str(dirs / "masks"))
    b = take(ds, 1)[0]
    assert b["valid"].shape == (5, S, S, 1)
    assert all(0.1 <= r < 0.2 for r in M.hole_ratio(b["valid"]))


@pytest.mark.parametrize("source, shard", [("rec", "files"), ("one", "elements")])
def test_input_context_gives_disjoint_shards(dirs, source, shard):
    seen = []
    for pid in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pid, num_replicas_in_sync=2)
        ds = data.train_dataset(str(dirs / source), 4, S, seed=0, repeat=False, input_context=ctx,
                                include_filename=True, mask_pool_size=16)
        assert ds.element_spec["image"].shape[0] == 2  # per-replica batch of the global 4
        seen.append({n for b in take(ds, 100) for n in b["filename"]})
    assert seen[0] and seen[1] and not seen[0] & seen[1]


def test_mirrored_strategy_replicas_get_distinct_parts_of_the_batch(dirs):
    cpus = tf.config.list_logical_devices("CPU")
    assert len(cpus) >= 2, "tests/conftest.py configures 2 logical CPUs"
    strategy = tf.distribute.MirroredStrategy([d.name for d in cpus[:2]])
    global_batch = 4
    kw = dict(seed=5, deterministic=True, include_filename=True, mask_pool_size=16)
    dist = strategy.distribute_datasets_from_function(
        lambda ctx: data.train_dataset(str(dirs / "rec"), global_batch, S, input_context=ctx, **kw))
    reference = take(data.train_dataset(str(dirs / "rec"), global_batch, S, **kw), 2)
    it = iter(dist)
    for ref in reference:
        per_replica = strategy.experimental_local_results(next(it))
        assert len(per_replica) == 2
        parts = [{k: v.numpy() for k, v in r.items()} for r in per_replica]
        for p in parts:
            _check_batch(p, global_batch // 2)
        # Distinct parts: together they are the global batch, in order (an image may recur only
        # when a batch spans an epoch boundary of the repeated dataset).
        assert not np.array_equal(parts[0]["image"], parts[1]["image"])
        np.testing.assert_array_equal(np.concatenate([p["filename"] for p in parts]), ref["filename"])
        np.testing.assert_array_equal(np.concatenate([p["image"] for p in parts]), ref["image"])


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.train_dataset(str(tmp_path / "nope"), 2, S)
    with pytest.raises(FileNotFoundError):
        data.train_dataset(str(tmp_path / "*.tfrecord"), 2, S)
    os.makedirs(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        data.train_dataset(str(tmp_path / "empty"), 2, S)
    with pytest.raises(ValueError, match="masks"):
        train_masks.train_mask_dataset("zigzag", S)


@pytest.mark.parametrize("kind", ["folder", "records"])
def test_multi_scale_crops_span_the_scales_they_say(tmp_path, kind):
    """A horizontal ramp photo 256×384: a 32×32 crop at shorter side t spans 255·32/(1.5 t) grey
    levels of it. With ``max_shorter_side=128`` the crops' spans range over t in [32, 128]; without,
    every crop is at t = 32."""
    from gain_tf.images import write_png
    ramp = np.repeat(np.linspace(0, 255, 384)[None, :, None], 256, 0).repeat(3, 2).round().astype(np.uint8)
    folder = tmp_path / "photo"
    write_png(str(folder / "ramp.png"), ramp)
    source = str(folder)
    if kind == "records":
        build("folder", str(folder), str(tmp_path / "rec"), resolution=256, split="train", keep_larger=True,
              workers=1, progress=False)
        source = str(tmp_path / "rec")

    def spans(max_side):
        ds = data.train_dataset(source, 8, image_size=32, seed=3, deterministic=True, max_shorter_side=max_side,
                                shuffle_buffer=0)
        images = np.concatenate([b["image"].numpy() for b in ds.take(6)])        # 48 crops, [-1, 1]
        rows = images[:, 16, :, 0] * 127.5
        return rows.max(1) - rows.min(1)

    multi, single = spans(128), spans(0)
    assert np.all(np.abs(single - 255 * 31 / 48) < 8)                  # t = 32: one scale
    assert multi.min() < 255 * 31 / (1.5 * 100) and multi.max() > 255 * 31 / (1.5 * 40)
    assert np.all(multi > 255 * 31 / (1.5 * 128) - 8)                  # never beyond t = 128
