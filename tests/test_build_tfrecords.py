"""data_prep.build_tfrecords on fake CelebA-HQ / Places2 / folder trees."""
import glob
import io
import json
import os
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from data_prep import build_tfrecords as B

RES = 32


def _img(rng, h=40, w=48):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _write(path, img):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, img)


def _corrupt_jpeg(path, rng):
    ok, buf = cv2.imencode(".jpg", _img(rng))
    with open(path, "wb") as f:
        f.write(buf.tobytes()[: len(buf) // 2])  # truncated: no end-of-image marker


def _not_an_image(path):
    with open(path, "w") as f:
        f.write("this is a text file, not a PNG\n")


def read_records(files):
    out = []
    for f in sorted(files):
        for raw in tf.data.TFRecordDataset(f):
            ex = tf.train.Example.FromString(raw.numpy()).features.feature
            img = tf.io.decode_image(ex["image/encoded"].bytes_list.value[0], channels=3).numpy()
            out.append(dict(filename=ex["image/filename"].bytes_list.value[0].decode(),
                            label=ex["image/label"].int64_list.value[0],
                            height=ex["image/height"].int64_list.value[0],
                            width=ex["image/width"].int64_list.value[0],
                            format=ex["image/format"].bytes_list.value[0].decode(), image=img))
    return out


def shards(out_dir, split):
    return sorted(tf.io.gfile.glob(os.path.join(str(out_dir), f"{split}-*.tfrecord")))


CELEB_TRAIN = [0, 1, 2, 3, 27999]
CELEB_VAL = [28000, 28001, 29999]


@pytest.fixture(scope="module")
def celeb_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("celebahq")
    rng = np.random.default_rng(0)
    for i in CELEB_TRAIN + CELEB_VAL:
        name = f"{i:05d}.png" if i in (3, 28001) else f"{i}.jpg"  # both naming schemes
        _write(str(d / name), _img(rng))
    _corrupt_jpeg(str(d / "4.jpg"), rng)
    _not_an_image(str(d / "5.png"))
    return d


@pytest.fixture(scope="module")
def places_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("places2")
    rng = np.random.default_rng(1)
    train = [("/a/abbey/00000001.jpg", 0), ("/a/abbey/00000002.jpg", 0), ("/b/bar/00000001.jpg", 7),
             ("/c/canyon/00000001.jpg", 42)]
    for name, _ in train:
        _write(str(d / "data_256" / name.lstrip("/")), _img(rng))
    (d / "places365_train_standard.txt").write_text("".join(f"{n} {c}\n" for n, c in train))
    val = [("Places365_val_00000001.jpg", 165), ("Places365_val_00000002.jpg", 3),
           ("Places365_val_00000003.jpg", 9)]
    for name, _ in val[:2]:
        _write(str(d / "val_256" / name), _img(rng))
    _corrupt_jpeg(str(d / "val_256" / val[2][0]), rng)
    # the val list lies beside the images rather than in input_dir
    (d / "val_256" / "places365_val.txt").write_text("".join(f"{n} {c}\n" for n, c in val))
    return d, train, val


def test_celebahq_split_by_index_counts_and_report(celeb_dir, tmp_path):
    out = tmp_path / "out"
    m = B.build("celebahq", str(celeb_dir), str(out), resolution=RES, split="all", num_shards=2, workers=1,
                progress=False)
    assert m["dataset"] == "celebahq" and m["resolution"] == RES and m["format"] == "jpeg"
    assert m["splits"]["train"]["count"] == len(CELEB_TRAIN) and m["splits"]["train"]["skipped"] == 2
    assert m["splits"]["val"]["count"] == len(CELEB_VAL) and m["splits"]["val"]["skipped"] == 0
    assert m["splits"]["train"]["shards"] == ["train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord"]
    with open(out / "manifest.json") as f:
        assert json.load(f) == m

    train = read_records(shards(out, "train"))
    assert sorted(B._index_of(r["filename"]) for r in train) == CELEB_TRAIN
    val = read_records(shards(out, "val"))
    assert [B._index_of(r["filename"]) for r in val] == CELEB_VAL  # val keeps index order
    for r in train + val:
        assert r["label"] == -1 and r["image"].shape == (RES, RES, 3) and (r["height"], r["width"]) == (RES, RES)

    report = (out / "train-skipped.txt").read_text().splitlines()
    assert len(report) == 2
    rows = dict(line.split("\t") for line in report)
    assert set(map(os.path.basename, rows)) == {"4.jpg", "5.png"}
    assert any("truncated" in r for r in rows.values())
    assert (out / "val-skipped.txt").read_text() == ""


def test_celebahq_split_file_and_keep_larger(celeb_dir, tmp_path):
    split_file = tmp_path / "split.txt"
    split_file.write_text("0.jpg\n2.jpg\n28000.jpg val\n")
    out = tmp_path / "out"
    m = B.build("celebahq", str(celeb_dir), str(out), resolution=RES, split="train", split_file=str(split_file),
                keep_larger=True, fmt="png", workers=1, progress=False)
    assert set(m["splits"]) == {"train"} and m["splits"]["train"]["count"] == 2
    recs = read_records(shards(out, "train"))
    assert sorted(r["filename"] for r in recs) == ["0.jpg", "2.jpg"]
    # 40x48 -> shorter side 32, not cropped: 32x38 (aspect kept)
    assert all((r["height"], r["width"]) == (32, 38) and r["image"].shape == (32, 38, 3) for r in recs)
    assert all(r["format"] == "png" for r in recs)


def test_places2_labels_splits_and_corrupt(places_dir, tmp_path):
    d, train, val = places_dir
    out = tmp_path / "out"
    m = B.build("places2", str(d), str(out), resolution=RES, split="all", workers=1, progress=False)
    assert m["splits"]["train"]["count"] == 4 and m["splits"]["val"]["count"] == 2
    assert m["splits"]["val"]["skipped"] == 1
    got = {r["filename"]: r["label"] for r in read_records(shards(out, "train"))}
    assert got == {n.lstrip("/"): c for n, c in train}
    got = {r["filename"]: r["label"] for r in read_records(shards(out, "val"))}
    assert got == {n: c for n, c in val[:2]}
    assert val[2][0] in (out / "val-skipped.txt").read_text()


def test_folder_recursive_png_default_all(tmp_path):
    rng = np.random.default_rng(2)
    src = tmp_path / "src"
    imgs = {"a.png": _img(rng), "sub/b.jpg": _img(rng, 48, 40), "sub/deeper/c.bmp": _img(rng, 32, 32),
            "small.png": _img(rng, 20, 24)}
    for name, img in imgs.items():
        _write(str(src / name), img)
    (src / "notes.txt").write_text("ignored: not an image extension")
    _not_an_image(str(src / "sub" / "fake.png"))
    out = tmp_path / "out"
    m = B.build("folder", str(src), str(out), resolution=RES, workers=1, progress=False)
    assert list(m["splits"]) == ["all"] and m["format"] == "png"
    assert m["splits"]["all"]["count"] == 4 and m["splits"]["all"]["skipped"] == 1
    assert m["splits"]["all"]["enlarged"] == 1                     # small.png
    recs = {r["filename"]: r for r in read_records(shards(out, "all"))}
    assert set(recs) == set(imgs)
    # PNG is lossless: the 32x32 source comes back bit-exact
    np.testing.assert_array_equal(recs["sub/deeper/c.bmp"]["image"], imgs["sub/deeper/c.bmp"][..., ::-1])
    assert "fake.png" in (out / "all-skipped.txt").read_text()
    # A shard finished by an older build (its state has no count of enlarged images) is reused
    # as it is, and the count is unknown rather than wrong.
    (state,) = glob.glob(str(out / B.STATE_DIR / "*.json"))
    old = json.loads(open(state).read())
    del old["enlarged"]
    open(state, "w").write(json.dumps(old))
    m = B.build("folder", str(src), str(out), resolution=RES, workers=1, progress=False)
    assert m["splits"]["all"]["count"] == 4 and m["splits"]["all"]["enlarged"] is None


def _all_filenames(out, split):
    return sorted(r["filename"] for r in read_records(shards(out, split)))


def test_interrupted_build_resumes_with_every_image_once(celeb_dir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = B._write_shard
    calls = []

    def dying(task, on_image=None):
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")  # the process dies while starting its third shard
        calls.append(task["name"])
        return real(task, on_image)

    monkeypatch.setattr(B, "_write_shard", dying)
    with pytest.raises(KeyboardInterrupt):
        B.build("celebahq", str(celeb_dir), str(out), resolution=RES, split="train", num_shards=4, workers=1,
                progress=False)
    assert len(shards(out, "train")) == 2
    # a stale, half-written temporary file of the shard that was being written
    (out / "train-00002-of-00004.tfrecord.tmp").write_bytes(b"half a record")
    done = {p: os.stat(p).st_mtime_ns for p in shards(out, "train")}
    monkeypatch.setattr(B, "_write_shard", real)
    m = B.build("celebahq", str(celeb_dir), str(out), resolution=RES, split="train", num_shards=4, workers=1,
                progress=False)
    assert m["splits"]["train"]["count"] == len(CELEB_TRAIN) and m["splits"]["train"]["skipped"] == 2
    assert {p: os.stat(p).st_mtime_ns for p in done} == done  # finished shards were skipped
    assert not list(out.glob("*.tmp"))
    names = _all_filenames(out, "train")
    assert sorted(B._index_of(n) for n in names) == CELEB_TRAIN  # every image exactly once
    assert len((out / "train-skipped.txt").read_text().splitlines()) == 2

    # a finished shard deleted after the fact is rebuilt; different shard counts do not mix
    os.remove(shards(out, "train")[1])
    B.build("celebahq", str(celeb_dir), str(out), resolution=RES, split="train", num_shards=4, workers=1,
            progress=False)
    assert _all_filenames(out, "train") == names
    B.build("celebahq", str(celeb_dir), str(out), resolution=RES, split="train", num_shards=3, workers=1,
            progress=False)
    assert len(shards(out, "train")) == 3 and _all_filenames(out, "train") == names


def test_parallel_build_equals_serial(celeb_dir, tmp_path):
    kw = dict(resolution=RES, split="train", num_shards=3, progress=False)
    B.build("celebahq", str(celeb_dir), str(tmp_path / "serial"), workers=1, **kw)
    m = B.build("celebahq", str(celeb_dir), str(tmp_path / "parallel"), workers=2, **kw)
    assert m["splits"]["train"]["count"] == len(CELEB_TRAIN)
    for a, b in zip(shards(tmp_path / "serial", "train"), shards(tmp_path / "parallel", "train"), strict=True):
        assert open(a, "rb").read() == open(b, "rb").read()
    assert (tmp_path / "serial" / "train-skipped.txt").read_text() == \
        (tmp_path / "parallel" / "train-skipped.txt").read_text()


@pytest.mark.parametrize("kwargs, flag", [
    (dict(dataset="imagenet"), "--dataset"),
    (dict(input_dir="/no/such/dir"), "--input_dir"),
    (dict(split="test"), "--split"),
    (dict(fmt="gif"), "--format"),
    (dict(num_shards=-1), "--num_shards"),
    (dict(dataset="places2"), "--input_dir"),  # no data_256 folder
])
def test_bad_options_name_the_flag(celeb_dir, tmp_path, kwargs, flag):
    args = dict(dataset="celebahq", input_dir=str(celeb_dir), output_dir=str(tmp_path / "o"), progress=False)
    args.update(kwargs)
    with pytest.raises(B.BuildError, match=flag):
        B.build(**args)


def test_command_line_flags(celeb_dir, tmp_path, capsys, monkeypatch):
    fv = flags.FlagValues()
    B.define_flags(fv)
    with pytest.raises(flags.IllegalFlagValueError, match="dataset"):
        fv(["build_tfrecords", "--dataset=imagenet"])
    fv = flags.FlagValues()
    B.define_flags(fv)
    fv(["build_tfrecords", "--dataset=celebahq", f"--input_dir={tmp_path}/missing", f"--output_dir={tmp_path}/o"])
    assert B.main(["build_tfrecords"], fv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--input_dir" in err[0]
    fv = flags.FlagValues()
    B.define_flags(fv)
    fv(["build_tfrecords", "--dataset=celebahq", f"--input_dir={celeb_dir}", f"--output_dir={tmp_path}/o",
        f"--resolution={RES}", "--split=val", "--workers=1"])
    assert B.main(["build_tfrecords"], fv) == 0
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["splits"]["val"]["count"] == len(CELEB_VAL)
    assert "enlarged" not in capsys.readouterr().err
    # Over the images' size: enlarged, counted and said; "~" expanded as the shell does not after "=".
    monkeypatch.setenv("HOME", str(tmp_path))
    fv = flags.FlagValues()
    B.define_flags(fv)
    fv(["build_tfrecords", "--dataset=celebahq", f"--input_dir={celeb_dir}", "--output_dir=~/big",
        "--resolution=64", "--split=val", "--workers=1"])
    assert B.main(["build_tfrecords"], fv) == 0
    n = len(CELEB_VAL)
    assert json.loads((tmp_path / "big" / "manifest.json").read_text())["splits"]["val"]["enlarged"] == n
    assert (f"warning: val: {n} of {n} images have a shorter side under --resolution=64 and were "
            "enlarged (cubic interpolation); a smaller --resolution keeps them sharp"
            in capsys.readouterr().err.splitlines())


# ------------------------------------------------------------------ bad or hostile input (issue 17)

def _cli(*args):
    fv = flags.FlagValues()
    B.define_flags(fv)
    fv(["build_tfrecords", *args])
    return B.main(["build_tfrecords"], fv)


def test_bombs_empty_and_truncated_files_are_skipped_and_reported(tmp_path, capsys, monkeypatch):
    from gain_tf import images
    from tests.image_bombs import bomb_jpeg, bomb_png
    rng = np.random.default_rng(5)
    src = tmp_path / "src"
    _write(str(src / "good.png"), _img(rng))
    _write(str(src / "big.png"), _img(rng, 40, 60))          # 2400 pixels: over --max_pixels=2000
    (src / "bomb.png").write_bytes(bomb_png())
    (src / "bomb.jpg").write_bytes(bomb_jpeg())
    (src / "empty.png").write_bytes(b"")
    good = (src / "good.png").read_bytes()
    (src / "trunc.png").write_bytes(good[: len(good) // 2])
    decoded = []
    real = images.cv2.imdecode
    monkeypatch.setattr(images.cv2, "imdecode", lambda buf, flag: decoded.append(len(buf)) or real(buf, flag))
    out = tmp_path / "out"
    assert _cli("--dataset=folder", f"--input_dir={src}", f"--output_dir={out}", f"--resolution={RES}",
                "--workers=1", "--max_pixels=2000") == 0
    assert "all: 1 images in 1 shards, 5 skipped" in capsys.readouterr().out
    rows = dict(line.split("\t") for line in (out / "all-skipped.txt").read_text().splitlines())
    assert rows == {
        str(src / "big.png"): "60x40 is 2400 pixels, more than the limit of 2000 (--max_pixels)",
        str(src / "bomb.jpg"): "20000x20000 is 400000000 pixels, more than the limit of 2000 (--max_pixels)",
        str(src / "bomb.png"): "20000x20000 is 400000000 pixels, more than the limit of 2000 (--max_pixels)",
        str(src / "empty.png"): "empty file",
        str(src / "trunc.png"): "truncated PNG (no IEND chunk)",
    }
    assert decoded == [len(good)]  # only good.png reached the decoder
    assert [r["filename"] for r in read_records(shards(out, "all"))] == ["good.png"]
    # The default limit (40 MP) lets big.png through but still refuses the bombs.
    m = B.build("folder", str(src), str(tmp_path / "out2"), resolution=RES, workers=1, progress=False)
    assert m["splits"]["all"]["count"] == 2 and m["splits"]["all"]["skipped"] == 4


@pytest.mark.parametrize("sub", ["", "records", "a/b"])
def test_output_dir_inside_input_dir_is_refused(tmp_path, capsys, sub):
    src = tmp_path / "src"
    _write(str(src / "a.png"), _img(np.random.default_rng(6)))
    out = src / sub if sub else src
    assert _cli("--dataset=folder", f"--input_dir={src}", f"--output_dir={out}", "--workers=1") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"build_tfrecords: error: --output_dir={out} is inside --input_dir={src}: outputs would "
                   "be read back as inputs; choose another folder"]
    assert sorted(os.listdir(src)) == ["a.png"]


@pytest.mark.slow
def test_build_killed_mid_shard_with_its_pool_resumes_with_every_image_once(tmp_path):
    """The CLI with a spawn pool of 2, its whole process group SIGKILLed while shard 2 of 4 is
    half written; the re-run keeps the finished shards and ends with every image exactly once."""
    from gain_tf.faults import HOLD_ENV
    from tests.processes import Child, base_env
    src, out = tmp_path / "photos", tmp_path / "out"
    rng = np.random.default_rng(5)
    for i in range(12):
        _write(str(src / f"p{i:02d}.png"), _img(rng))
    held = tmp_path / "held"
    cmd = [sys.executable, "-m", "data_prep.build_tfrecords", "--dataset=folder", f"--input_dir={src}",
           f"--output_dir={out}", f"--resolution={RES}", "--num_shards=4", "--workers=2"]
    env = base_env(**{HOLD_ENV: f"record-all-00002-of-00004.tfrecord:1:{held}"})
    child = Child(cmd, env, str(tmp_path / "build"))
    child.wait_for_file(held)
    child.kill()
    finished = {p: os.stat(p).st_mtime_ns for p in shards(out, "all")}  # which: a race
    assert not (out / "all-00002-of-00004.tfrecord").exists() and len(finished) <= 3
    assert (out / "all-00002-of-00004.tfrecord.tmp").exists()  # half written when killed
    m = B.build("folder", str(src), str(out), resolution=RES, num_shards=4, workers=1,
                progress=False)
    assert m["splits"]["all"]["count"] == 12 and not list(out.glob("*.tmp"))
    assert {p: os.stat(p).st_mtime_ns for p in finished} == finished
    assert _all_filenames(out, "all") == [f"p{i:02d}.png" for i in range(12)]
