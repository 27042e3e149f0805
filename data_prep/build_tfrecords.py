"""Builds sharded TFRecords of CelebA-HQ, Places2 or any image folder for gain_tf.data.

    python -m data_prep.build_tfrecords --dataset=celebahq --input_dir=CelebA-HQ-img \\
        --output_dir=records/celebahq --resolution=256 --split=all

Sources (``--dataset``)
  celebahq  A folder of CelebA-HQ images as distributed: ``0.jpg`` ... ``29999.jpg`` or zero-padded
            ``00000.png`` ...; the number at the end of the file name is the image's index.
            Split: with ``--split_file``, the file names it lists (see below); otherwise the fixed,
            deterministic rule by index: **index < 28000 -> train, index >= 28000 -> val**
            (``--val_start_index``), i.e. 28 000 / 2 000 images for the full set. With fewer
            images the same rule applies to their indices.
  places2   Places365-Standard: ``<input_dir>/data_256/`` (or ``data_large/``) with
            ``places365_train_standard.txt`` (lines ``/a/abbey/00000001.jpg 0``) and
            ``<input_dir>/val_256/`` (or ``val_large/``) with ``places365_val.txt``
            (``Places365_val_00000001.jpg 165``). The list files may lie in ``input_dir``, in
            ``input_dir/filelist_places365-standard/``, or inside / beside the image folders. The
            class index is kept in ``image/label``.
  folder    Every image under ``input_dir``, recursively (jpg, jpeg, png, bmp, webp). All of them
            form the one split named by ``--split`` (default ``all``).

``--split`` = train | val | all. For celebahq and places2 ``all`` builds both train and val.
``--split_file``: one file name a line (relative to ``input_dir``, or a bare file name), optionally
followed by a split name (``0.jpg train``); lines without one belong to the split named by
``--split``. Only the listed files are used (celebahq and folder).

Processing. Each image is decoded (truncated / unreadable files are skipped, and so are PNG / JPEG
files whose header announces more than ``--max_pixels`` pixels, before decoding), its shorter side
resized to ``--resolution`` (``cv2.INTER_AREA`` when shrinking, ``INTER_CUBIC`` when enlarging) and
centre-cropped to ``resolution x resolution``; with ``--keep_larger`` the resized image is kept
uncropped, for random crops at train time. Images smaller than ``--resolution`` are enlarged, and
counted (``enlarged`` in the manifest, with a warning). The training split's file order is shuffled (seeded by
``--seed``) before sharding, so shards mix classes; val keeps its sorted order.

Records (``tf.train.Example``): ``image/encoded`` (bytes), ``image/format`` (``jpeg`` / ``png``),
``image/height``, ``image/width`` (int64), ``image/filename`` (path relative to the source folder),
``image/label`` (int64, -1 when there is none). ``--format=auto`` (default) stores JPEG quality 95
(``--jpeg_quality``) for celebahq and places2, whose sources are JPEG, and lossless PNG for folder.

Output: ``{split}-{i:05d}-of-{n:05d}.tfrecord`` shards (``--num_shards``, 0 = about 1024 images a
shard), built in parallel (``--workers`` processes, one shard at a time each);
``{split}-skipped.txt`` listing every skipped file (``path<TAB>reason``); ``manifest.json``
(written atomically): source dataset, resolution, format, and per split the image count, enlarged
count (null when shards of an older build were reused), skipped count and shard list.

Resumable: a shard is written under a temporary name and renamed when complete, its bookkeeping
(count, skipped files, a fingerprint of its inputs and settings) is kept in ``.state/``; a re-run
skips finished shards whose fingerprint still matches and rebuilds the rest (``--overwrite``
rebuilds everything). Do not run two builds into one output folder at the same time.
"""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import io
import json
import multiprocessing
import os
import re
import sys
import time

from absl import app, flags

from gain_tf import DEFAULT_MAX_PIXELS  # gain_tf's package module does not import TensorFlow

DATASETS = ("celebahq", "places2", "folder")
SPLITS = ("train", "val", "all")
FORMATS = ("auto", "jpeg", "png")
SHARD_PATTERN = "{split}-{index:05d}-of-{count:05d}.tfrecord"
IMAGES_PER_SHARD = 1024
STATE_DIR = ".state"
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class BuildError(ValueError):
    """A bad option or input; the message names the flag or file concerned."""


@dataclasses.dataclass(frozen=True)
class Item:
    path: str       # file to read
    name: str       # stored as image/filename (relative to the source folder)
    label: int = -1


# ------------------------------------------------------------------------------------------------
# Listing the sources
# ------------------------------------------------------------------------------------------------

def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _read_split_file(split_file: str, default_split: str | None) -> dict[str, str]:
    """``name -> split`` from a split file (see the module docstring)."""
    if not os.path.isfile(split_file):
        raise BuildError(f"--split_file={split_file}: no such file")
    out = {}
    with open(split_file, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) >= 2:
                split = parts[1]
            elif default_split is None:
                raise BuildError(f"--split_file={split_file}: line {lineno} names no split, which "
                                 "is needed with --split=all")
            else:
                split = default_split
            out[parts[0].lstrip("/")] = split
    return out


def _apply_split_file(items: list[Item], split_file: str, default_split: str | None) -> dict[str, list[Item]]:
    wanted = _read_split_file(split_file, default_split)
    by_name = {it.name: it for it in items}
    by_base: dict[str, list[Item]] = {}
    for it in items:
        by_base.setdefault(os.path.basename(it.name), []).append(it)
    root = os.path.dirname(items[0].path) if items else ""
    splits: dict[str, list[Item]] = {}
    for name, split in wanted.items():
        it = by_name.get(name)
        if it is None and len(by_base.get(name, [])) == 1:
            it = by_base[name][0]
        if it is None:  # listed but absent: reported as skipped
            it = Item(os.path.join(root, name), name)
        splits.setdefault(split, []).append(it)
    return splits


def _index_of(name: str) -> int | None:
    m = re.search(r"(\d+)$", os.path.splitext(os.path.basename(name))[0])
    return int(m.group(1)) if m else None


def list_celebahq(input_dir: str, split: str, split_file: str | None = None,
                  val_start_index: int = 28000) -> dict[str, list[Item]]:
    """``{split: [Item]}`` of a CelebA-HQ folder, sorted by numeric index within each split."""
    from gain_tf.images import list_image_files
    files = list_image_files(input_dir)
    items, seen = [], {}
    for path in files:
        idx = _index_of(path)
        if idx is None:
            raise BuildError(f"--input_dir={input_dir}: {_rel(path, input_dir)} has no numeric index "
                             "in its name (CelebA-HQ files are named 0.jpg ... 29999.jpg)")
        if idx in seen:
            raise BuildError(f"--input_dir={input_dir}: index {idx} appears twice "
                             f"({_rel(seen[idx], input_dir)} and {_rel(path, input_dir)})")
        seen[idx] = path
        items.append(Item(path, _rel(path, input_dir)))
    items.sort(key=lambda it: _index_of(it.name))
    if split_file:
        splits = _apply_split_file(items, split_file, None if split == "all" else split)
    else:
        splits = {"train": [it for it in items if _index_of(it.name) < val_start_index],
                  "val": [it for it in items if _index_of(it.name) >= val_start_index]}
    wanted = ("train", "val") if split == "all" else (split,)
    return {s: splits.get(s, []) for s in wanted}


def _find_list_file(input_dir: str, image_dir: str, name: str) -> str:
    candidates = [input_dir, os.path.join(input_dir, "filelist_places365-standard"), image_dir,
                  os.path.dirname(os.path.abspath(image_dir))]
    for d in candidates:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    raise BuildError(f"--input_dir={input_dir}: {name} not found (looked in "
                     f"{', '.join(dict.fromkeys(candidates))})")


def list_places2(input_dir: str, split: str) -> dict[str, list[Item]]:
    """``{split: [Item]}`` of a Places365-Standard tree, labels from the official list files."""
    layout = {"train": (("data_256", "data_large"), "places365_train_standard.txt"),
              "val": (("val_256", "val_large"), "places365_val.txt")}
    out = {}
    for s in (("train", "val") if split == "all" else (split,)):
        dirs, list_name = layout[s]
        image_dir = next((os.path.join(input_dir, d) for d in dirs
                          if os.path.isdir(os.path.join(input_dir, d))), None)
        if image_dir is None:
            raise BuildError(f"--input_dir={input_dir}: no {' or '.join(dirs)} folder for the "
                             f"{s} split of Places365-Standard")
        list_file = _find_list_file(input_dir, image_dir, list_name)
        items = []
        with open(list_file, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    label = int(parts[1]) if len(parts) > 1 else -1
                except ValueError:
                    raise BuildError(f"{list_file}: line {lineno}: bad class label {parts[1]!r}") from None
                name = parts[0].lstrip("/")
                items.append(Item(os.path.join(image_dir, *name.split("/")), name, label))
        out[s] = items
    return out


def list_folder(input_dir: str, split: str, split_file: str | None = None) -> dict[str, list[Item]]:
    """``{split: [Item]}``: every image under ``input_dir`` (sorted) in the split named ``split``."""
    from gain_tf.images import list_image_files
    items = [Item(p, _rel(p, input_dir)) for p in list_image_files(input_dir)]
    if split_file:
        splits = _apply_split_file(items, split_file, split)
        return {s: splits.get(s, []) for s in ((split,) if split != "all" else sorted(splits))}
    return {split: items}


# ------------------------------------------------------------------------------------------------
# One image, one shard
# ------------------------------------------------------------------------------------------------

def process_image(path: str, resolution: int, keep_larger: bool = False, fmt: str = "jpeg",
                  jpeg_quality: int = 95, max_pixels: int | None = DEFAULT_MAX_PIXELS):
    """Reads, resizes, crops and encodes one image -> ``(bytes, height, width, enlarged)``;
    ``enlarged``: its shorter side was under ``resolution``.

    Raises :class:`gain_tf.images.ImageReadError` (naming the file) when it cannot be read, or when
    its PNG / JPEG header announces more than ``max_pixels`` pixels (refused before decoding).
    """
    from gain_tf.images import ImageReadError, center_crop, decode_image_bytes, encode_jpeg, \
        encode_png, resize_shorter_side
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except OSError as e:
        raise ImageReadError(f"{path}: {e.strerror or e}") from None
    img = decode_image_bytes(data, path, max_pixels=max_pixels)
    enlarged = min(img.shape[:2]) < resolution
    img = resize_shorter_side(img, resolution)
    if not keep_larger:
        img = center_crop(img, resolution)
    enc = encode_jpeg(img, jpeg_quality) if fmt == "jpeg" else encode_png(img)
    return enc, img.shape[0], img.shape[1], enlarged


def make_example(encoded: bytes, height: int, width: int, filename: str, label: int = -1,
                 fmt: str = "jpeg") -> bytes:
    """A serialized ``tf.train.Example`` with the record keys of the module docstring."""
    import tensorflow as tf

    def b(v):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))

    def i(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v)]))

    return tf.train.Example(features=tf.train.Features(feature={
        "image/encoded": b(encoded), "image/format": b(fmt.encode()),
        "image/height": i(height), "image/width": i(width),
        "image/filename": b(filename.encode("utf-8")), "image/label": i(label),
    })).SerializeToString(deterministic=True)   # map order: protobuf >= 5 (upb) varies it per process


def _reason(err: Exception, path: str) -> str:
    msg = str(err)
    return msg[len(path) + 2:] if msg.startswith(path + ": ") else msg


def _write_shard(task: dict, on_image=None) -> dict:
    """Writes one shard (temp file, state file, rename); returns its state dict."""
    import tensorflow as tf
    from gain_tf import faults
    from gain_tf.images import ImageReadError, atomic_write_bytes

    final, tmp, state_path = task["path"], task["path"] + ".tmp", task["state_path"]
    for p in (final, state_path):
        if os.path.exists(p):
            os.remove(p)
    count, enlarged, skipped = 0, 0, []
    with tf.io.TFRecordWriter(tmp) as writer:
        for k, (path, name, label) in enumerate(task["items"]):
            faults.hold(f"record-{task['name']}", k)  # no-op unless a test holds the build here
            try:
                enc, h, w, up = process_image(path, task["resolution"], task["keep_larger"],
                                              task["format"], task["jpeg_quality"],
                                              task.get("max_pixels", DEFAULT_MAX_PIXELS))
            except ImageReadError as e:
                skipped.append([path, _reason(e, path)])
            except Exception as e:  # noqa: BLE001 - a bad image never stops the build
                skipped.append([path, f"{type(e).__name__}: {e}"])
            else:
                writer.write(make_example(enc, h, w, name, label, task["format"]))
                count += 1
                enlarged += up
            if on_image is not None:
                on_image(len(skipped))
    state = {"fingerprint": task["fingerprint"], "count": count, "enlarged": enlarged,
             "skipped": skipped, "bytes": os.path.getsize(tmp)}
    atomic_write_bytes(state_path, json.dumps(state).encode())
    os.replace(tmp, final)
    return state


def _pool_write_shard(task: dict) -> tuple[str, dict]:
    return task["path"], _write_shard(task)


def _enlarged(states) -> int | None:
    """Images enlarged to the resolution, over shard states; None when a shard was built before
    the count was kept (resumed from an older build: unknown)."""
    counts = [st.get("enlarged") for st in states]
    return None if None in counts else sum(counts)


def _shard_finished(task: dict) -> dict | None:
    """The shard's state when it is complete and built from the same inputs and settings."""
    try:
        with open(task["state_path"], encoding="utf-8") as f:
            state = json.load(f)
        if state.get("fingerprint") == task["fingerprint"] and os.path.getsize(task["path"]) == state["bytes"]:
            return state
    except (OSError, ValueError, KeyError):
        pass
    return None


# ------------------------------------------------------------------------------------------------
# The build
# ------------------------------------------------------------------------------------------------

def _fingerprint(items, settings) -> str:
    h = hashlib.sha1(json.dumps(settings, sort_keys=True).encode())
    for it in items:
        h.update(f"{it[0]}\0{it[1]}\0{it[2]}\n".encode("utf-8"))
    return h.hexdigest()


def _check_options(dataset, input_dir, output_dir, resolution, split, num_shards, workers, fmt,
                   jpeg_quality, split_file, max_images):
    if dataset not in DATASETS:
        raise BuildError(f"--dataset={dataset}: must be one of {', '.join(DATASETS)}")
    if not input_dir:
        raise BuildError("--input_dir is required")
    if not os.path.isdir(input_dir):
        raise BuildError(f"--input_dir={input_dir}: no such directory")
    if not output_dir:
        raise BuildError("--output_dir is required")
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise BuildError(f"--output_dir={output_dir}: exists and is not a directory")
    out, inp = os.path.realpath(output_dir), os.path.realpath(input_dir)
    if out == inp or out.startswith(inp.rstrip(os.sep) + os.sep):
        raise BuildError(f"--output_dir={output_dir} is inside --input_dir={input_dir}: outputs would "
                         "be read back as inputs; choose another folder")
    if split not in SPLITS:
        raise BuildError(f"--split={split}: must be one of {', '.join(SPLITS)}")
    if int(resolution) < 8:
        raise BuildError(f"--resolution={resolution}: must be at least 8")
    if int(num_shards) < 0:
        raise BuildError(f"--num_shards={num_shards}: must be >= 0 (0 = automatic)")
    if workers is not None and int(workers) < 1:
        raise BuildError(f"--workers={workers}: must be >= 1")
    if fmt not in FORMATS:
        raise BuildError(f"--format={fmt}: must be one of {', '.join(FORMATS)}")
    if not 1 <= int(jpeg_quality) <= 100:
        raise BuildError(f"--jpeg_quality={jpeg_quality}: must be in 1..100")
    if split_file and dataset == "places2":
        raise BuildError("--split_file: not used with --dataset=places2 (its splits come from the "
                         "official list files)")
    if int(max_images) < 0:
        raise BuildError(f"--max_images={max_images}: must be >= 0 (0 = all)")


def list_items(dataset: str, input_dir: str, split: str = "all", split_file: str | None = None,
               val_start_index: int = 28000) -> dict[str, list[Item]]:
    """The images of every requested split, before shuffling and sharding."""
    if dataset == "celebahq":
        return list_celebahq(input_dir, split, split_file, val_start_index)
    if dataset == "places2":
        return list_places2(input_dir, split)
    return list_folder(input_dir, split, split_file)


def build(dataset: str, input_dir: str, output_dir: str, resolution: int = 256, split: str = "all",
          num_shards: int = 0, workers: int | None = None, split_file: str | None = None,
          keep_larger: bool = False, fmt: str = "auto", jpeg_quality: int = 95, seed: int = 0,
          max_images: int = 0, overwrite: bool = False, val_start_index: int = 28000,
          progress: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict:
    """Builds (or resumes) the TFRecords of ``dataset``; returns the manifest dict (also written).

    Arguments mirror the command-line flags (``fmt`` is ``--format``). Raises :class:`BuildError`
    naming the flag for a bad option; unreadable images, and PNG / JPEG files whose header
    announces more than ``max_pixels`` pixels (refused before decoding; 0 = no limit), are skipped
    and reported in ``{split}-skipped.txt``, never raised.
    """
    from gain_tf.images import atomic_write_bytes
    from gain_tf.progress import Progress

    # "--input_dir=~/photos": the shell expands ~ only at the start of a word
    input_dir, output_dir = os.path.expanduser(input_dir), os.path.expanduser(output_dir)

    _check_options(dataset, input_dir, output_dir, resolution, split, num_shards, workers, fmt,
                   jpeg_quality, split_file, max_images)
    resolution, num_shards, jpeg_quality = int(resolution), int(num_shards), int(jpeg_quality)
    fmt = ("png" if dataset == "folder" else "jpeg") if fmt == "auto" else fmt
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    splits = list_items(dataset, input_dir, split, split_file, val_start_index)
    os.makedirs(os.path.join(output_dir, STATE_DIR), exist_ok=True)

    settings = {"version": FORMAT_VERSION, "resolution": resolution, "keep_larger": bool(keep_larger),
                "format": fmt, "jpeg_quality": jpeg_quality if fmt == "jpeg" else None}
    manifest_path = os.path.join(output_dir, MANIFEST)
    manifest = {"dataset": dataset, "input_dir": os.path.abspath(input_dir), **settings, "splits": {}}
    if os.path.isfile(manifest_path):
        try:
            with open(manifest_path, encoding="utf-8") as f:
                old = json.load(f)
            if all(old.get(k) == manifest[k] for k in ("dataset", *settings)):
                manifest["splits"] = old.get("splits", {})
        except (OSError, ValueError):
            pass

    for split_name, items in splits.items():
        if split_name == "train":  # shuffle before sharding: shards mix classes / identities
            import numpy as np
            order = np.random.default_rng(seed).permutation(len(items))
            items = [items[i] for i in order]
        if max_images:
            items = items[:max_images]
        n = num_shards or max(1, -(-len(items) // IMAGES_PER_SHARD))
        tasks = []
        for i in range(n):
            chunk = [(it.path, it.name, it.label) for it in items[i * len(items) // n:(i + 1) * len(items) // n]]
            name = SHARD_PATTERN.format(split=split_name, index=i, count=n)
            tasks.append({"path": os.path.join(output_dir, name), "name": name, "items": chunk,
                          "state_path": os.path.join(output_dir, STATE_DIR, name + ".json"),
                          "fingerprint": _fingerprint(chunk, settings if max_pixels == DEFAULT_MAX_PIXELS
                                                     else {**settings, "max_pixels": int(max_pixels)}),
                          "resolution": resolution,
                          "keep_larger": bool(keep_larger), "format": fmt, "jpeg_quality": jpeg_quality,
                          "max_pixels": int(max_pixels)})
        # Stale temporary files of an interrupted run, and shards of a different shard count.
        for p in glob.glob(os.path.join(output_dir, f"{split_name}-*.tfrecord.tmp")):
            os.remove(p)
        current = {t["name"] for t in tasks}
        for p in glob.glob(os.path.join(output_dir, f"{split_name}-?????-of-?????.tfrecord")):
            if os.path.basename(p) not in current:
                print(f"removing {p} (from a build with another shard count)", file=sys.stderr)
                os.remove(p)
                st = os.path.join(output_dir, STATE_DIR, os.path.basename(p) + ".json")
                if os.path.exists(st):
                    os.remove(st)

        states = {}
        todo = []
        for t in tasks:
            st = None if overwrite else _shard_finished(t)
            if st is not None:
                states[t["path"]] = st
            else:
                todo.append(t)
        done_images = sum(len(t["items"]) for t in tasks if t["path"] in states)
        bar = Progress(len(items), desc=f"{dataset}/{split_name}", stream=None if progress else io.StringIO(),
                       initial=done_images)
        bar.update(0, shards=f"{len(states)}/{n}")
        n_skipped = sum(len(s["skipped"]) for s in states.values())
        if workers <= 1 or len(todo) <= 1:
            for t in todo:
                base = n_skipped
                states[t["path"]] = _write_shard(t, on_image=lambda k, b=base: bar.update(1, skipped=b + k))
                n_skipped += len(states[t["path"]]["skipped"])
                bar.update(0, shards=f"{len(states)}/{n}")
        else:
            ctx = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
            with ctx.Pool(min(workers, len(todo))) as pool:
                for path, st in pool.imap_unordered(_pool_write_shard, todo):
                    states[path] = st
                    n_skipped += len(st["skipped"])
                    bar.update(st["count"] + len(st["skipped"]), skipped=n_skipped,
                               shards=f"{len(states)}/{n}")
        bar.close()

        skipped = [row for t in tasks for row in states[t["path"]]["skipped"]]
        report = f"{split_name}-skipped.txt"
        atomic_write_bytes(os.path.join(output_dir, report),
                           "".join(f"{p}\t{r}\n" for p, r in skipped).encode("utf-8"))
        manifest["splits"][split_name] = {
            "count": sum(states[t["path"]]["count"] for t in tasks),
            "enlarged": _enlarged(states[t["path"]] for t in tasks), "skipped": len(skipped),
            "listed": len(items), "num_shards": n, "shards": [t["name"] for t in tasks],
            "skipped_report": report}
        atomic_write_bytes(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------

def define_flags(fv: flags.FlagValues = flags.FLAGS) -> None:
    """Defines the builder's flags on ``fv`` (called by ``__main__`` only, so importing is harmless)."""
    flags.DEFINE_enum("dataset", None, list(DATASETS), "Source layout (see the module doc).", flag_values=fv)
    flags.DEFINE_string("input_dir", None, "Source folder.", flag_values=fv)
    flags.DEFINE_string("output_dir", None, "Where the shards, report and manifest.json go.", flag_values=fv)
    flags.DEFINE_integer("resolution", 256, "Shorter side after resizing (and crop size).", lower_bound=8,
                         flag_values=fv)
    flags.DEFINE_enum("split", "all", list(SPLITS), "Split(s) to build; 'all' = train and val for "
                      "celebahq/places2, the whole folder for folder.", flag_values=fv)
    flags.DEFINE_integer("num_shards", 0, "Shards per split; 0 = about 1024 images a shard.", lower_bound=0,
                         flag_values=fv)
    flags.DEFINE_integer("workers", os.cpu_count() or 1, "Parallel processes.", lower_bound=1, flag_values=fv)
    flags.DEFINE_string("split_file", None, "File names (optionally '<name> <split>') to use.", flag_values=fv)
    flags.DEFINE_boolean("keep_larger", False, "Keep the shorter-side-resized image uncropped.", flag_values=fv)
    flags.DEFINE_enum("format", "auto", list(FORMATS), "Stored encoding; auto = jpeg for celebahq/places2, "
                      "png for folder.", flag_values=fv)
    flags.DEFINE_integer("jpeg_quality", 95, "JPEG quality.", lower_bound=1, upper_bound=100, flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of the train split's shuffle before sharding.", flag_values=fv)
    flags.DEFINE_integer("max_images", 0, "Use at most this many images per split (0 = all).", lower_bound=0,
                         flag_values=fv)
    flags.DEFINE_integer("val_start_index", 28000, "celebahq: first index of the val split.", flag_values=fv)
    flags.DEFINE_boolean("overwrite", False, "Rebuild finished shards too.", flag_values=fv)
    flags.DEFINE_integer("max_pixels", DEFAULT_MAX_PIXELS, "Skip images whose PNG / JPEG header says "
                         "they have more pixels (checked before decoding); 0 = no limit.", lower_bound=0,
                         flag_values=fv)
    for name in ("dataset", "input_dir", "output_dir"):
        flags.mark_flag_as_required(name, flag_values=fv)


def main(argv, fv: flags.FlagValues = flags.FLAGS) -> int:
    if len(argv) > 1:
        print(f"build_tfrecords: unexpected arguments {' '.join(argv[1:])}", file=sys.stderr)
        return 2
    try:
        t0 = time.time()
        manifest = build(fv.dataset, fv.input_dir, fv.output_dir, resolution=fv.resolution, split=fv.split,
                         num_shards=fv.num_shards, workers=fv.workers, split_file=fv.split_file,
                         keep_larger=fv.keep_larger, fmt=fv.format, jpeg_quality=fv.jpeg_quality,
                         seed=fv.seed, max_images=fv.max_images, overwrite=fv.overwrite,
                         val_start_index=fv.val_start_index, max_pixels=fv.max_pixels)
    except BuildError as e:
        print(f"build_tfrecords: error: {e}", file=sys.stderr)
        return 2
    for name, s in manifest["splits"].items():
        print(f"{name}: {s['count']} images in {s['num_shards']} shards, {s['skipped']} skipped "
              f"(see {os.path.join(fv.output_dir, s['skipped_report'])})")
        if s.get("enlarged"):
            print(f"warning: {name}: {s['enlarged']} of {s['count']} images have a shorter side under "
                  f"--resolution={manifest['resolution']} and were enlarged (cubic interpolation); "
                  "a smaller --resolution keeps them sharp", file=sys.stderr)
    print(f"manifest: {os.path.join(fv.output_dir, MANIFEST)} ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(lambda argv: sys.exit(main(argv)))
