"""data_prep/demo_data.py: `make demo`'s data from a folder of your own images."""
import numpy as np


def test_user_folder_is_split_into_training_and_held_out_records(tmp_path):
    """``make demo DATA=folder``: every readable image lands in exactly one split, 10 % (at least
    8) held out; too few images is one clear usage error naming the folder."""
    import cv2
    import pytest
    from absl import app

    from data_prep.demo_data import prepare_data
    from gain_tf.data import eval_dataset, train_dataset
    photos = tmp_path / "photos" / "nested"
    photos.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(20):
        cv2.imwrite(str(photos / f"p{i:02d}.png"), rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    records, heldout = prepare_data(str(tmp_path / "out"), str(tmp_path / "photos"), 32, 0, 0, 0)
    val = {n.numpy() for b in eval_dataset(heldout, 32, (0.1, 0.2), batch_size=4) for n in b["filename"]}
    train = {n for b in train_dataset(records, 4, 32, seed=0, deterministic=True, repeat=False,
                                      include_filename=True).as_numpy_iterator() for n in b["filename"]}
    assert len(val) == 8 and len(train) == 12 and not val & train
    few = tmp_path / "few"
    few.mkdir()
    for i in range(3):
        cv2.imwrite(str(few / f"p{i}.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(app.UsageError, match="few"):
        prepare_data(str(tmp_path / "out2"), str(few), 32, 0, 0, 0)
