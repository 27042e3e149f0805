"""Dataset preparation: ``python -m data_prep.build_tfrecords`` turns image folders into TFRecords."""
