"""gain_tf.inference and serving: symmetric padding, loading a model, clear errors, the fill-order view,
the shipped model on held-out photos (photos of any size: tests/test_anysize.py)."""
import os

import numpy as np
import pytest
import tensorflow as tf

from gain_tf import REPO_ROOT, inference, serving
from gain_tf.config import get_config
from tests.fixtures_model import demo_inpainter, scene_with_holes, tiny_generator, tiny_model_dir


def test_pad_to_multiple_is_symmetric_for_any_size():
    x = np.arange(3 * 2).reshape(1, 3, 2, 1)
    got = serving.pad_to_multiple(tf.constant(x), 8).numpy()
    assert got.shape == (1, 8, 8, 1)
    want = np.pad(np.pad(x, ((0, 0), (0, 3), (0, 2), (0, 0)), mode="symmetric"),
                  ((0, 0), (0, 2), (0, 4), (0, 0)), mode="symmetric")
    np.testing.assert_array_equal(got, want)  # pads larger than the image mirror again
    np.testing.assert_array_equal(got[:, :3, :2], x)


def test_load_generator_restores_only_the_generator():
    g = inference.load_generator(tiny_model_dir())
    ref = tiny_generator()
    assert len(g.variables) == len(ref.variables)
    for a, b in zip(g.variables, ref.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        inference.load_generator(str(tmp_path / "nope"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty/config\.json"):
        inference.load_generator(str(empty))
    (empty / "config.json").write_text(get_config("tiny").to_json())
    with pytest.raises(FileNotFoundError, match=r"empty/checkpoints: no checkpoint"):
        inference.load_generator(str(empty))
    with pytest.raises(FileNotFoundError, match=r"ckpt-99"):
        inference.load_generator(tiny_model_dir(), checkpoint=str(tmp_path / "ckpt-99"))
    with pytest.raises(FileNotFoundError, match="not a SavedModel"):
        inference.load_model(str(empty))
    for name in ("model.h5", "model"):          # anything but a folder, .tflite or .onnx
        (tmp_path / name).write_bytes(b"x")
        with pytest.raises(ValueError, match=f"^{tmp_path / name}: unknown model format") as info:
            inference.load_model(str(tmp_path / name))
        assert "\n" not in str(info.value)
    with pytest.raises(FileNotFoundError, match=r"nope\.onnx: no such model file"):
        inference.load_model(str(tmp_path / "nope.onnx"))
    # A checkpoint of another architecture: a clear error naming the checkpoint.
    (empty / "config.json").write_text(get_config("tiny", image_channels=6).to_json())
    ckpt = os.path.join(tiny_model_dir(), "checkpoints")
    with pytest.raises(ValueError, match="could not restore the generator"):
        inference.load_generator(str(empty), checkpoint=ckpt)


def test_fill_order_shows_branch_one_filling_the_hole():
    from tests.fixtures_model import tiny_export_dir, tiny_inpainter
    demo_model = demo_inpainter()
    image, hole = scene_with_holes(64)
    hole[16:48, 20:44] = 255                      # a hole that survives the stride-2 blocks
    views = demo_model.views(image, hole)
    names, masks, grid = views["fill_order"]
    np.testing.assert_array_equal(views["inpainted"], demo_model.run_one(image, hole)["inpainted"])
    cfg = demo_model.config.model
    assert names[0] == "structure_down2" and len(names) == 1 + 4 * cfg.structure_dilation_blocks
    assert grid == 4 and masks.shape == (len(names), 16, 16)
    holes = (1 - masks).sum(axis=(1, 2))
    assert holes[0] > 0 and holes[-1] == 0 and np.all(np.diff(holes) <= 0)
    # The SavedModel's fill_order signature gives what the in-memory model gives.
    saved = inference.load_saved_model(tiny_export_dir())
    names2, masks2, _ = saved.views(image, hole)["fill_order"]
    names3, masks3, _ = tiny_inpainter().views(image, hole)["fill_order"]
    assert names2 == names3 and names2[0] == "structure_down2"
    np.testing.assert_array_equal(masks2, masks3)


@pytest.mark.slow
def test_the_shipped_model_beats_diffusion_and_its_gradient_beats_zero_on_held_out_photos(tmp_path):
    """The model card's claim, on its own held-out crops (96 per bucket, at the training size, 20–30 %
    and 40–50 % holes): PSNR and SSIM above Telea's and Navier–Stokes', the output's gradient closer
    to the truth's than Telea's fill, and the predicted ∇I* closer than the all-zero gradient."""
    from gain_tf.evaluation import protocol
    model = inference.load_saved_model(inference.SHIPPED_MODEL)
    heldout = os.path.join(REPO_ROOT, "data_prep", "heldout_photos")
    with open(os.devnull, "w") as quiet:
        rows = protocol.evaluate(model.inpaint_scored, heldout, str(tmp_path), model.training_size,
                                 buckets=((0.2, 0.3), (0.4, 0.5)), num_images=96, num_grid=0,
                                 write=False, progress_stream=quiet)
    got = {(r["method"], r["bucket"]): r for r in rows}
    for bucket in ("20-30%", "40-50%"):
        gain, telea, ns = (got[(m, bucket)] for m in ("GAIN", "Telea", "Navier-Stokes"))
        assert gain["n"] == 96
        assert gain["psnr"] > max(telea["psnr"], ns["psnr"]) + 0.2, bucket
        assert gain["ssim"] > max(telea["ssim"], ns["ssim"]), bucket
        assert gain["grad_l1"] < telea["grad_l1"], bucket
        predicted, zero = got[("GAIN ∇I*", bucket)], got[("zero gradient ∇", bucket)]
        assert predicted["grad_l1"] < 0.97 * zero["grad_l1"], bucket
