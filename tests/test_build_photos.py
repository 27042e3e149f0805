"""The photo dataset builder: the committed list, split by photo, resumable, one line without apt."""
import os

import numpy as np
import pytest
import tensorflow as tf

from data_prep import build_photos as bp
from gain_tf.images import write_png


def test_committed_list_holds_out_whole_photos_with_licences():
    photos = bp.read_photo_list()
    val = [p for p in photos if p.split == "val"]
    assert len(val) >= 6 and len(photos) - len(val) >= 40
    assert len({p.name for p in photos}) == len(photos)                      # each photo once
    assert len({bp.photo_stem(p) for p in photos}) == len(photos)
    assert all(p.licence and p.credit for p in photos)
    kept_for_checks = ("skimage", "scikit", "sklearn", "matplotlib")
    assert not [p.name for p in photos if any(k in p.name.lower() for k in kept_for_checks)]


def test_bad_row_names_the_file_and_row(tmp_path):
    f = tmp_path / "list.csv"
    f.write_text("# comment\npkg,a.jpg,train,MIT,me\npkg,b.jpg,test,MIT,me\n")
    with pytest.raises(bp.PhotoError, match=r"list.csv: line 3 "):
        bp.read_photo_list(str(f))


def test_without_apt_it_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))                 # no apt-get, no dpkg
    with pytest.raises(bp.PhotoError) as e:
        bp.fetch_packages(["mate-backgrounds"], str(tmp_path / "cache"), log=lambda m: None)
    msg = str(e.value)
    assert msg.startswith("apt-get not found") and "mate-backgrounds" in msg and "\n" not in msg


def test_crop_boxes_cut_full_crops_from_the_rescaled_photo_at_three_scales():
    from gain_tf.images import resize_shorter_side
    photo = np.zeros((300, 500, 3), np.uint8)
    boxes = bp.crop_boxes(300, 500, 64, 9, seed=5)
    assert boxes == bp.crop_boxes(300, 500, 64, 9, seed=5)                 # seeded
    assert [b[0] for b in boxes[:4]] == [64, 128, 256, 64]
    assert len({(t, l) for _, t, l in boxes}) == 9
    for side, top, left in boxes:
        scaled = resize_shorter_side(photo, side)
        assert scaled[top:top + 64, left:left + 64].shape == (64, 64, 3)
    assert [b[0] for b in bp.crop_boxes(100, 90, 64, 3, seed=0)] == [64, 90, 90]   # capped


def _fake_cache(tmp_path, rows):
    """A cache whose packages are already extracted (fetch then does nothing), and its list."""
    rng = np.random.default_rng(0)
    lines = []
    for package, path, split in rows:
        full = tmp_path / "cache" / "packages" / package / path
        full.parent.mkdir(parents=True, exist_ok=True)
        write_png(str(full), rng.integers(0, 256, (90, 120, 3), dtype=np.uint8))
        lines.append(f"{package},{path},{split},CC0-1.0,someone")
    listing = tmp_path / "photos.csv"
    listing.write_text("\n".join(lines) + "\n")
    return str(listing)


def test_build_splits_by_photo_and_resumes(tmp_path):
    rows = [("pkg-a", "usr/share/x/one.png", "train"), ("pkg-a", "usr/share/y/one.png", "train"),
            ("pkg-b", "usr/share/b/two.png", "val"), ("pkg-b", "usr/share/b/three.png", "train")]
    listing = _fake_cache(tmp_path, rows)
    out = tmp_path / "out"
    kw = dict(cache_dir=str(tmp_path / "cache"), resolution=64, crop_size=32, crops_per_photo=3,
              workers=1, photo_list=listing, log=lambda m: None)
    manifest = bp.build_photos(str(out), **kw)
    assert manifest["splits"]["train"]["count"] == 3 and manifest["splits"]["val"]["count"] == 1
    names = {}
    for split in ("train", "val"):
        ds = tf.data.TFRecordDataset(str(out / f"{split}-00000-of-00001.tfrecord"))
        names[split] = {tf.train.Example.FromString(r.numpy()).features.feature["image/filename"]
                        .bytes_list.value[0].decode() for r in ds}
    assert names["val"] == {"pkg-b/usr/share/b/two.png"} and not names["val"] & names["train"]
    crops = sorted(os.listdir(out / "val_crops_32"))
    assert crops == [f"pkg-b__b_two_{k:02d}.png" for k in range(3)]
    assert not (out / "train_crops_32").exists()
    assert "| val | pkg-b | two.png | CC0-1.0 | someone |" in (out / "licences.md").read_text()
    stamp = {c: os.path.getmtime(out / "val_crops_32" / c) for c in crops}
    os.remove(out / "val_crops_32" / crops[1])
    bp.build_photos(str(out), **kw)                              # resumes: rewrites only the missing crop
    assert sorted(os.listdir(out / "val_crops_32")) == crops
    assert all(os.path.getmtime(out / "val_crops_32" / c) == stamp[c] for c in (crops[0], crops[2]))
    bp.build_photos(str(out), **kw, train_crops_per_photo=2)     # the training photos' crops, none held out
    stems = ("pkg-a__x_one", "pkg-a__y_one", "pkg-b__b_three")
    assert sorted(os.listdir(out / "train_crops_32")) == sorted(f"{s}_{k:02d}.png" for s in stems for k in range(2))


def test_a_listed_file_missing_from_its_package_is_named(tmp_path):
    listing = _fake_cache(tmp_path, [("pkg-a", "usr/share/a.png", "train")])
    with open(listing, "a") as f:
        f.write("pkg-a,usr/share/gone.png,val,CC0-1.0,someone\n")
    with pytest.raises(bp.PhotoError, match="pkg-a/usr/share/gone.png"):
        bp.build_photos(str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"), photo_list=listing,
                        log=lambda m: None)
