"""Corrupt TFRecords: the file and offset that tf.data's ``DataLossError`` does not name."""
from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from gain_tf.image_sources import resolve_source


def find_corrupt_record(files) -> str | None:
    """``"<file>: corrupt TFRecord (<reason>)"`` for the first of ``files`` that cannot be read to
    its end, or None when every file reads. It reads every file, so it is for the error path: tf.data
    raises ``DataLossError`` without naming the file (see :func:`corrupt_record_error`)."""
    for f in files:
        try:
            tf.data.TFRecordDataset(f).reduce(np.int64(0), lambda n, _: n + 1)
        except tf.errors.DataLossError as e:
            return f"{f}: corrupt TFRecord ({_tf_reason(e)})"
    return None


def _tf_reason(err) -> str:
    msg = re.sub(r"\{\{[^}]*\}\}|\[Op:[^\]]*\]|name:\s*$", "", str(getattr(err, "message", err)))
    return " ".join(msg.replace("' failed with ", ": ").split()) or type(err).__name__


def corrupt_record_error(source, split: str | None, err) -> ValueError:
    """A one-line ``ValueError`` for a ``DataLossError`` met while reading ``source``: names the
    corrupt file (found with :func:`find_corrupt_record`). The pipelines themselves do not skip
    corrupt records: the entry points (training, evaluation) stop with this message."""
    try:
        kind, files = resolve_source(source, split)
    except (FileNotFoundError, ValueError):
        kind, files = "images", []
    found = find_corrupt_record(files) if kind == "records" else None
    return ValueError(found or f"{source}: corrupt TFRecord ({_tf_reason(err)})")
