"""gain_tf.inference, serving and anysize: the symmetric padding, loading a model, clear errors, photos of any size."""
import os

import numpy as np
import pytest
import tensorflow as tf

from gain_tf import REPO_ROOT, anysize, inference, serving
from gain_tf.config import get_config
from tests.fixtures_model import tiny_generator, tiny_model_dir


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


# ----------------------------------------------------------------------------- photos of any size
DEMO_MODEL = os.path.join(os.path.dirname(__file__), "fixtures", "demo_tiny")


@pytest.fixture(scope="module")
def demo_model():
    """The `make demo` model (tiny, trained 2 500 steps at 64×64), committed as a fixture."""
    return inference.Inpainter.from_generator(inference.load_generator(DEMO_MODEL))


def scene_with_holes(size, seed=11):
    from gain_tf.synthetic import generate_scenes
    image = generate_scenes(1, size=size, seed=seed)[0]
    hole = np.zeros((size, size), np.uint8)
    hole[10:18, 8:20] = 255
    if size >= 120:
        hole[100:108, 90:110] = 255
    return image, hole


def test_hole_boxes_cover_every_hole_pixel_once():
    hole = np.zeros((300, 400), bool)
    hole[10:20, 10:30] = True                   # near the corner
    hole[200:205, 300:390] = True               # far away: its own box
    hole[40:50, 60:70] = True                   # close to the first: merged with it
    boxes = anysize.hole_boxes(hole, min_size=64)
    assert len(boxes) == 2
    count = np.zeros(hole.shape, int)
    for y0, x0, y1, x1 in boxes:
        assert y1 - y0 >= 64 and x1 - x0 >= 64
        assert 0 <= y0 < y1 <= 300 and 0 <= x0 < x1 <= 400
        count[y0:y1, x0:x1] += 1
    assert np.all(count[hole] == 1) and count.max() == 1
    (y0, x0, y1, x1), = [b for b in boxes if b[0] > 100]
    assert (y0, y1, x0, x1) == (200 - 90, 205 + 90, 300 - 90, 400)   # margin = region's longer side
    assert anysize.hole_boxes(hole[:100, :100], margin=500) == [(0, 0, 100, 100)]


def test_crop_window_over_the_whole_image_is_bit_identical_to_full(demo_model):
    image, hole = scene_with_holes(64)                            # the training size
    full = anysize.inpaint_image(demo_model, image, hole, mode="full")
    crop = anysize.inpaint_image(demo_model, image, hole, mode="crop", margin=64)
    np.testing.assert_array_equal(crop.image, full.image)
    np.testing.assert_array_equal(crop.gradient, full.gradient)
    auto = anysize.inpaint_image(demo_model, image, hole)    # auto: full at this size
    np.testing.assert_array_equal(auto.image, full.image)


@pytest.mark.parametrize("size", [96, 128])
def test_real_crops_keep_known_pixels_and_are_no_worse_than_full(demo_model, size):
    """Stated bound: crop's mean hole error against the ground truth is at most full's + 1 grey
    level (measured: 10.5-13.0 for crop against 21.9-49.9 for full, as full runs the model at
    1.5-4× the scale it was trained at)."""
    image, hole = scene_with_holes(size)
    h = hole > 0
    outs = {m: anysize.inpaint_image(demo_model, image, hole, mode=m).image
            for m in ("full", "crop", "resize")}
    err = {m: np.abs(o.astype(int) - image.astype(int))[h].mean() for m, o in outs.items()}
    for mode, out in outs.items():
        assert out.shape == image.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out[~h], image[~h], err_msg=mode)
        assert np.any(out[h] != image[h]), mode
    assert err["crop"] <= err["full"] + 1.0, err
    np.testing.assert_array_equal(anysize.inpaint_image(demo_model, image, hole).image, outs["crop"])


@pytest.mark.parametrize("size", [32, 48])
def test_small_images_are_scaled_up_and_beat_full(demo_model, size):
    """Below the training size `auto` scales the image up (`resize`). Measured on the demo model
    (trained at 64) over these 8 scenes: mean hole error 25 and 22 grey levels at 32 and 48 px
    against full's 71 and 35; stated bound: at most 0.8 × full's."""
    from gain_tf.synthetic import generate_scenes
    err = {"full": [], "resize": []}
    for seed in range(8):
        image = generate_scenes(1, size=size, seed=seed)[0]
        y, x = np.random.default_rng(seed).integers(2, size - 12, 2)
        hole = np.zeros((size, size), np.uint8)
        hole[y:y + 8, x:x + 10] = 255
        h = hole > 0
        outs = {m: anysize.inpaint_image(demo_model, image, hole, mode=m) for m in ("full", "resize")}
        if seed == 0:
            auto = anysize.inpaint_image(demo_model, image, hole)
            assert auto.mode == "resize" and outs["resize"].seen.shape[:2] == (64, 64)
            np.testing.assert_array_equal(auto.image, outs["resize"].image)
        np.testing.assert_array_equal(outs["resize"].image[~h], image[~h])
        for m, o in outs.items():
            err[m].append(np.abs(o.image.astype(int) - image.astype(int))[h].mean())
    assert np.mean(err["resize"]) <= 0.8 * np.mean(err["full"]), err


@pytest.mark.parametrize("mode,size", [("full", 64), ("resize", 40), ("resize", 96), ("crop", 128)])
def test_what_lies_under_the_hole_never_reaches_the_network(demo_model, mode, size):
    """The scaling in each mode must not carry the pixels under the hole into the known pixels the
    network sees: two photos that differ only inside the hole are inpainted identically."""
    image, hole = scene_with_holes(size)
    other = image.copy()
    other[hole > 0] = 255 - other[hole > 0]
    a = anysize.inpaint_image(demo_model, image, hole, mode=mode)
    b = anysize.inpaint_image(demo_model, other, hole, mode=mode)
    np.testing.assert_array_equal(a.image[hole > 0], b.image[hole > 0])


def test_crop_regions_run_together_give_what_each_gives_alone(demo_model):
    """Crop mode runs all regions as one batch: two 64x64 crops (no scaling, no padding) come
    out as when each hole is inpainted on its own, within float rounding of the batched run."""
    image, _ = scene_with_holes(128)
    hole = np.zeros((128, 128), np.uint8)
    hole[10:18, 10:18] = 255
    hole[100:108, 100:108] = 255
    both = anysize.inpaint_image(demo_model, image, hole, mode="crop")
    assert both.boxes == [(0, 0, 64, 64), (64, 64, 128, 128)]
    for box in both.boxes:
        alone_hole = np.zeros_like(hole)
        y0, x0, y1, x1 = box
        alone_hole[y0:y1, x0:x1] = hole[y0:y1, x0:x1]
        alone = anysize.inpaint_image(demo_model, image, alone_hole, mode="crop")
        assert alone.boxes == [box]
        diff = np.abs(alone.image.astype(int) - both.image.astype(int))[alone_hole > 0]
        assert diff.max() <= 1, diff.max()


def test_bad_input_and_memory_limit_are_one_clear_error(demo_model):
    image, hole = scene_with_holes(64)
    with pytest.raises(anysize.InpaintInputError, match="no hole pixels"):
        anysize.inpaint_image(demo_model, image, np.zeros_like(hole))
    with pytest.raises(anysize.InpaintInputError, match="covers the whole image"):
        anysize.inpaint_image(demo_model, image, np.full_like(hole, 255))
    with pytest.raises(anysize.InpaintInputError, match=r"megapixels.*--max_pixels"):
        anysize.inpaint_image(demo_model, image, hole, max_pixels=1000)
    with pytest.raises(anysize.InpaintInputError, match=r"GiB.*--max_memory_gb.*--mode=crop"):
        anysize.inpaint_image(demo_model, image, hole, mode="full", max_memory_gb=1e-4)
    with pytest.raises(anysize.InpaintInputError, match="--mode"):
        anysize.inpaint_image(demo_model, image, hole, mode="tiles")
    # The estimate is dominated by attention's (H/8·W/8)² scores at photo sizes.
    paper = get_config("paper")
    big = anysize.estimate_full_memory(3000, 4000, paper)
    assert 140 * 2 ** 30 < big < 1024 * 2 ** 30   # one score tensor alone is 140 GB
    assert anysize.estimate_full_memory(256, 256, paper) < 2 ** 30


def test_fill_order_shows_branch_one_filling_the_hole(demo_model):
    from tests.fixtures_model import tiny_export_dir, tiny_inpainter
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


def test_a_small_hole_gets_a_centred_box_of_the_minimum_size():
    """A 10 px hole with a 64 px minimum and no margin: a 64 px box around its centre (it was 91 px
    and off-centre when the far edge was computed from the already moved near edge)."""
    hole = np.zeros((500, 400), bool)
    hole[200:210, 150:160] = True
    assert anysize.hole_boxes(hole, margin=0, min_size=64) == [(173, 123, 237, 187)]
    assert anysize._grow(400, 410, 256, 4000) == (277, 533)
    assert anysize._grow(0, 10, 64, 4000) == (0, 64)              # at the border: shifted inside
    assert anysize._grow(3990, 4000, 64, 4000) == (3936, 4000)
    assert anysize._grow(5, 20, 64, 30) == (0, 30)                 # the image is smaller


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
