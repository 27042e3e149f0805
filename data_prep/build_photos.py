r"""The `photos` dataset: photographs that Debian packages ship, as TFRecords and a held-out crop set.

    python -m data_prep.build_photos                          # cache ~/.cache/gain-tf, output data/photos
    python -m data_prep.build_photos --output_dir=data/photos --crop_size=128

No image dataset can be downloaded on every machine, but Debian's wallpaper packages and
``opencv-doc`` ship photographs. ``data_prep/photos.csv`` (committed) lists which of their files
are photographs (not artwork, renders or test charts), each with its licence, its credit and its
split: **8 whole photos are held out** (``val``), so no crop of them is ever trained on.

Steps, each resumable (a re-run skips what is done; an interrupted step leaves no half file):

1. **Fetch**: ``apt-get download <package>`` into ``<cache_dir>/debs`` and ``dpkg -x`` into
   ``<cache_dir>/packages/<package>`` (extracted under a temporary name, then renamed). Nothing is
   installed. Where ``apt-get`` or ``dpkg`` is missing it says so in one line; ``.deb`` files
   already in ``<cache_dir>/debs`` are used without apt.
2. **Records**: :func:`data_prep.build_tfrecords.build` (``folder`` dataset) writes
   ``train-*.tfrecord`` and ``val-*.tfrecord`` with the shorter side resized to ``--resolution``
   (default 512) and kept uncropped, for multi-scale random crops at train time
   (``--max_shorter_side``).
3. **Held-out crops**: ``val_crops_<S>/``: ``--crops_per_photo`` fixed ``S`` × ``S`` crops of each
   held-out photo, at its shorter side resized to ``S``, ``2S`` and ``4S`` in turn (seeded), as
   PNG. They are the evaluation set (``experiments/evaluate.py --data=.../val_crops_128``).
   ``--train_crops_per_photo=N`` also writes ``train_crops_<S>/``, the same kind of crops of the
   training photos, to measure how much of a model's score is memorised (a generalisation gap).

``licences.md`` in the output folder lists every photo with its package, licence and credit.
Never add the sample photos of scikit-image, scikit-learn or matplotlib here: they are kept for
independent checks.
"""
from __future__ import annotations

import csv
import dataclasses
import glob
import os
import shutil
import subprocess
import sys

from absl import app, flags

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTO_LIST = os.path.join(HERE, "photos.csv")
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "gain-tf")
CROP_SCALES = (1, 2, 4)


class PhotoError(RuntimeError):
    """A step of the photo dataset could not be done (the message says which and why)."""


@dataclasses.dataclass(frozen=True)
class Photo:
    package: str
    path: str         # inside the package
    split: str        # train | val
    licence: str
    credit: str

    @property
    def name(self) -> str:
        """Path under ``<cache_dir>/packages``: ``<package>/<path>``."""
        return f"{self.package}/{self.path}"


def read_photo_list(path: str = PHOTO_LIST) -> list[Photo]:
    """The rows of ``photos.csv`` (``#`` lines are comments); a bad row is named by its line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            row = next(csv.reader([line]))
            if len(row) != 5 or row[2] not in ("train", "val"):
                raise PhotoError(f"{path}: line {n} {row!r}: expected package,path,train|val,licence,credit")
            rows.append(Photo(*[c.strip() for c in row]))
    return rows


def _find_deb(debs: str, package: str):
    """The newest ``<package>_<version>_<arch>.deb`` in ``debs`` (by modification time), or None.
    (apt-get download writes the version the machine's sources offer: one file per package.)"""
    found = glob.glob(os.path.join(debs, f"{package}_*.deb"))
    return max(found, key=os.path.getmtime) if found else None


def _last_line(text: str, default: str) -> str:
    return (text.strip().splitlines() or [default])[-1]


def fetch_packages(packages, cache_dir: str, log=print) -> str:
    """Downloads (``apt-get download``) and extracts (``dpkg -x``) each package once; returns the
    folder holding one extracted tree per package."""
    debs, root = os.path.join(cache_dir, "debs"), os.path.join(cache_dir, "packages")
    os.makedirs(debs, exist_ok=True)
    os.makedirs(root, exist_ok=True)
    for package in sorted(set(packages)):
        target = os.path.join(root, package)
        if os.path.isdir(target):
            continue
        deb = _find_deb(debs, package)
        if deb is None:
            if shutil.which("apt-get") is None:
                raise PhotoError(f"apt-get not found: cannot download {package}; put its .deb file "
                                 f"in {debs} (or run on a Debian/Ubuntu machine)")
            log(f"downloading {package}")
            res = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
            deb = _find_deb(debs, package)
            if res.returncode or deb is None:
                raise PhotoError(f"apt-get download {package} failed: {_last_line(res.stderr, 'no .deb written')}")
        if shutil.which("dpkg") is None:
            raise PhotoError(f"dpkg not found: cannot extract {deb}")
        tmp = target + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        res = subprocess.run(["dpkg", "-x", deb, tmp], capture_output=True, text=True)
        if res.returncode:
            raise PhotoError(f"dpkg -x {deb} failed ({_last_line(res.stderr, 'no message')}): "
                             "delete it and re-run to download it again")
        os.replace(tmp, target)
    return root


def write_licences(photos, path: str) -> None:
    from gain_tf.images import atomic_write_bytes
    lines = ["# Photos of the `photos` dataset and their licences", "",
             "| split | package | file | licence | credit |", "|---|---|---|---|---|"]
    lines += [f"| {p.split} | {p.package} | {os.path.basename(p.path)} | {p.licence} | {p.credit} |"
              for p in sorted(photos, key=lambda p: (p.split, p.name))]
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))


def crop_boxes(height: int, width: int, size: int, count: int, seed: int):
    """``count`` crops ``(scale_side, top, left)``: the shorter side resized to ``size * CROP_SCALES[k % 3]``
    (capped at the photo's own; the shape :func:`gain_tf.images.resize_shorter_side` gives), then a
    seeded top-left corner inside it."""
    import numpy as np

    from gain_tf.images import resize_shorter_side
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        side = min(size * CROP_SCALES[k % len(CROP_SCALES)], height, width)
        h, w = resize_shorter_side(np.zeros((height, width, 1), np.uint8), side).shape[:2]
        out.append((side, int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))))
    return out


def photo_stem(photo: Photo) -> str:
    """A file-name stem unique per photo: ``<package>__<path under usr/share, / as _, no extension>``."""
    rel = os.path.splitext(photo.path)[0].replace("usr/share/", "", 1).replace("/contents/images", "")
    return f"{photo.package}__{rel.replace('/', '_')}"


def write_crops(photos, root: str, out_dir: str, size: int, count: int, log=print) -> int:
    """Writes ``count`` crops of each photo (skips files already written); returns how many exist."""
    import zlib

    from gain_tf.images import read_image, resize_shorter_side, write_png
    os.makedirs(out_dir, exist_ok=True)
    n = 0
    for p in photos:
        stem = photo_stem(p)
        names = [os.path.join(out_dir, f"{stem}_{k:02d}.png") for k in range(count)]
        if all(os.path.exists(f) for f in names):
            n += count
            continue
        image = read_image(os.path.join(root, p.name))
        for k, (side, top, left) in enumerate(crop_boxes(*image.shape[:2], size, count,
                                                          seed=zlib.crc32(stem.encode()))):
            if not os.path.exists(names[k]):
                write_png(names[k], resize_shorter_side(image, side)[top:top + size, left:left + size])
            n += 1
    log(f"{n} crops of {size}x{size} in {out_dir}")
    return n


def build_photos(output_dir: str, cache_dir: str = DEFAULT_CACHE, resolution: int = 512,
                 crop_size: int = 128, crops_per_photo: int = 12, workers: int = 2,
                 photo_list: str = PHOTO_LIST, train_crops_per_photo: int = 0, log=print) -> dict:
    """All three steps; returns the records' manifest."""
    from data_prep import build_tfrecords
    photos = read_photo_list(photo_list)
    root = fetch_packages([p.package for p in photos], cache_dir, log)
    missing = [p.name for p in photos if not os.path.isfile(os.path.join(root, p.name))]
    if missing:
        raise PhotoError(f"{photo_list}: {len(missing)} listed file(s) not in their package, e.g. {missing[0]}")
    os.makedirs(output_dir, exist_ok=True)
    split_file = os.path.join(output_dir, "split.txt")
    from gain_tf.images import atomic_write_bytes
    atomic_write_bytes(split_file, "".join(f"{p.name} {p.split}\n" for p in photos).encode("utf-8"))
    manifest = build_tfrecords.build("folder", root, output_dir, resolution=resolution, split="all",
                                     split_file=split_file, keep_larger=True, workers=workers)
    write_licences(photos, os.path.join(output_dir, "licences.md"))
    for split, count in (("val", crops_per_photo), ("train", train_crops_per_photo)):
        if count:
            write_crops([p for p in photos if p.split == split], root,
                        os.path.join(output_dir, f"{split}_crops_{crop_size}"), crop_size, count, log)
    return manifest


def define_flags(fv: flags.FlagValues = flags.FLAGS) -> None:
    flags.DEFINE_string("output_dir", "data/photos", "Where the records, licences.md and val crops go.",
                        flag_values=fv)
    flags.DEFINE_string("cache_dir", DEFAULT_CACHE, "Where the .deb files and their extracted trees are kept.",
                        flag_values=fv)
    flags.DEFINE_integer("resolution", 512, "Shorter side of the stored photos.", lower_bound=64, flag_values=fv)
    flags.DEFINE_integer("crop_size", 128, "Size of the held-out evaluation crops.", lower_bound=16,
                         flag_values=fv)
    flags.DEFINE_integer("crops_per_photo", 12, "Held-out crops per held-out photo.", lower_bound=1,
                         flag_values=fv)
    flags.DEFINE_integer("train_crops_per_photo", 0, "Crops per training photo into train_crops_<S>/ "
                         "(0: none), to measure a model's generalisation gap.", lower_bound=0, flag_values=fv)
    flags.DEFINE_integer("workers", 2, "Parallel processes of the record builder.", lower_bound=1,
                         flag_values=fv)


def main(argv, fv: flags.FlagValues = flags.FLAGS) -> int:
    del argv
    from data_prep.build_tfrecords import BuildError
    from gain_tf.images import ImageReadError
    try:
        build_photos(fv.output_dir, fv.cache_dir, fv.resolution, fv.crop_size, fv.crops_per_photo, fv.workers,
                     train_crops_per_photo=fv.train_crops_per_photo)
    except (PhotoError, BuildError, ImageReadError, OSError) as e:
        print(f"build_photos: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
