"""gain_tf.records: a corrupt TFRecord is one error naming its file and the record's offset."""
import os

import pytest
import tensorflow as tf

from gain_tf import data, records
from tests.image_folders import S, dirs, take  # noqa: F401 (dirs is a fixture)


def test_corrupt_record_is_one_error_naming_the_file(dirs, tmp_path):
    """tf.data raises DataLossError without the file name; corrupt_record_error finds the file (the
    pipelines do not skip corrupt records, training and evaluation stop with this one line)."""
    import shutil
    src = sorted(tf.io.gfile.glob(str(dirs / "val" / "val-*.tfrecord")))
    for f in src:
        shutil.copy(f, tmp_path)
    good, bad = (str(tmp_path / os.path.basename(f)) for f in src)
    raw = bytearray(open(bad, "rb").read())
    first_len = int.from_bytes(raw[:8], "little")
    second_data = 8 + 4 + first_len + 4 + 8 + 4          # the second record's payload
    raw[second_data + 10] ^= 0xFF
    open(bad, "wb").write(bytes(raw))
    assert records.find_corrupt_record([good]) is None
    with pytest.raises(tf.errors.DataLossError) as e:
        take(data.eval_dataset(str(tmp_path), S, (0.2, 0.3), count=10, batch_size=4), 10)
    err = records.corrupt_record_error(str(tmp_path), "val", e.value)
    assert str(err) == f"{bad}: corrupt TFRecord (corrupted record at {second_data})"
    # A record cut short in its payload (a shard copied half-way), read by the training pipeline.
    # (TensorFlow itself reads a file cut inside a record's 12-byte header as ending there.)
    open(bad, "wb").write(bytes(raw[: second_data + 5]))
    with pytest.raises(tf.errors.DataLossError) as e:
        take(data.train_dataset(str(tmp_path / "val-*.tfrecord"), 2, S, seed=0, repeat=False), 10)
    err = records.corrupt_record_error(str(tmp_path / "val-*.tfrecord"), "train", e.value)
    assert str(err) == (f"{bad}: corrupt TFRecord (truncated record at {second_data - 12}: Read less bytes "
                        "than requested)")
