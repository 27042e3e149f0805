"""Dataset preparation: ``python -m data_prep.build_tfrecords`` turns image folders into TFRecords.

Importing it quiets TensorFlow's start-up lines as every command of ``experiments`` does (the
import hook of ``experiments/__init__.py``)."""
import experiments  # noqa: F401
