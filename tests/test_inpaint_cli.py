"""experiments/inpaint.py: end to end on a folder and a single file, and every error path."""
import os

import cv2
import numpy as np
import pytest
from absl import flags

from experiments import inpaint as cli
from gain_tf.images import read_image, write_png
from tests.fixtures_model import tiny_export_dir, tiny_model_dir, write_images


def run_cli(*args):
    """Parses ``args`` with the tool's own flags (a fresh FlagValues) and runs its ``main``."""
    fv = flags.FlagValues()
    cli.define_flags(fv)
    argv = fv(["inpaint"] + list(args))
    return cli.main(argv, fv)


def hole_mask(h, w, box=(0.25, 0.3, 0.5, 0.5)):
    m = np.zeros((h, w), np.uint8)
    t, l, bh, bw = box
    m[int(t * h):int((t + bh) * h), int(l * w):int((l + bw) * w)] = 255
    return m


@pytest.fixture()
def inputs(tmp_path):
    """image dir with 4 images (odd sizes), mask dir with masks for 3 of them."""
    img_dir, mask_dir = tmp_path / "images", tmp_path / "masks"
    paths = write_images(str(img_dir), 3, 37, 45, seed=3) + write_images(str(img_dir / "sub"), 1, 40, 40, seed=4)
    write_png(str(mask_dir / "img_0.png"), hole_mask(37, 45))                       # ordinary
    soft = hole_mask(37, 45).astype(np.int32)
    soft[soft == 255] = 200
    soft[0, 0] = 100                                                                 # below 127: known
    write_png(str(mask_dir / "img_1.png"), soft.astype(np.uint8))                    # non-binary
    write_png(str(mask_dir / "sub" / "img_0.png"), np.zeros((40, 40), np.uint8))     # no hole
    return img_dir, mask_dir, paths, tmp_path


def test_folder_end_to_end_with_saved_model(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    out_dir = tmp / "out"
    write_png(str(mask_dir / "stray.png"), hole_mask(37, 45))                  # no image of its name
    code = run_cli(f"--image_dir={img_dir}", f"--mask_dir={mask_dir}", f"--output_dir={out_dir}",
                   f"--saved_model={tiny_export_dir()}")
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"warning: 1 mask(s) without an image in {img_dir}, unused: {mask_dir / 'stray.png'}" in err
    assert sorted(os.listdir(out_dir)) == ["img_0.png", "img_1.png", "sub"]
    # img_2 has no mask: listed and skipped with a warning.
    assert "without a mask" in err and paths[2] in err
    # Known pixels unchanged, holes filled.
    for name, mask_name in (("img_0.png", "img_0.png"), ("img_1.png", "img_1.png")):
        src = read_image(str(img_dir / name))
        got = read_image(str(out_dir / name))
        hole = cv2.imread(str(mask_dir / mask_name), cv2.IMREAD_GRAYSCALE) > 127
        assert got.shape == src.shape
        np.testing.assert_array_equal(got[~hole], src[~hole])
        assert np.any(got[hole] != src[hole])
    # Non-binary mask: thresholded at 127 with a warning.
    assert (f"warning: {mask_dir / 'img_1.png'}: mask has values other than 0 and 255; thresholded at 127 "
            "(above = hole)") in err.splitlines()
    # A progress line (in a log: one line per report), the last one with every pair done.
    assert [line for line in err.splitlines() if line.startswith("inpaint  ")][-1].startswith(
        "inpaint  3/3  ")
    # No-hole mask: image written unchanged, with a warning.
    assert "mask has no hole" in err
    np.testing.assert_array_equal(read_image(str(out_dir / "sub" / "img_0.png")), read_image(paths[3]))


def test_single_file_with_checkpoint(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    out = tmp / "one.png"
    code = run_cli(f"--image={paths[0]}", f"--mask={mask_dir / 'img_0.png'}", f"--output={out}",
                   f"--model_dir={tiny_model_dir()}")
    assert code == 0, capsys.readouterr().err
    src, got = read_image(paths[0]), read_image(str(out))
    hole = hole_mask(37, 45) > 0
    np.testing.assert_array_equal(got[~hole], src[~hole])
    assert np.any(got[hole] != src[hole])
    assert "warning" not in capsys.readouterr().err
    # --mode=full at another size than the training size (32) is warned about: models fill worse.
    assert run_cli(f"--image={paths[0]}", f"--mask={mask_dir / 'img_0.png'}", f"--output={out}",
                   f"--model_dir={tiny_model_dir()}", "--mode=full") == 0
    assert f"warning: --mode=full runs {paths[0]} at 45x37, not the model's training size 32x32" in (
        capsys.readouterr().err)
    (small,) = write_images(str(tmp / "at32"), 1, 32, 32)
    write_png(str(tmp / "at32_mask.png"), hole_mask(32, 32))
    assert run_cli(f"--image={small}", f"--mask={tmp / 'at32_mask.png'}", f"--output={out}",
                   f"--model_dir={tiny_model_dir()}", "--mode=full") == 0
    assert "warning" not in capsys.readouterr().err


def one_error_line(capsys):
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1, err
    return errors[0]


def single_error(capsys, image, mask, output):
    """Runs one image through the CLI (the tiny checkpoint), expects exit 1; returns the error line."""
    code = run_cli(f"--image={image}", f"--mask={mask}", f"--output={output}",
                   f"--model_dir={tiny_model_dir()}")
    assert code == 1
    return one_error_line(capsys)


def test_missing_file(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    missing = str(tmp / "nope.png")
    assert missing in single_error(capsys, missing, mask_dir / "img_0.png", tmp / "o.png")
    assert not (tmp / "o.png").exists()


def test_a_folder_given_as_the_image_is_named_as_a_folder(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    line = single_error(capsys, img_dir, mask_dir / "img_0.png", tmp / "o.png")
    assert line == f"error: {img_dir}: is a folder, not an image file"


def test_a_mask_covering_everything_is_named(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    full = tmp / "full.png"
    write_png(str(full), np.full((37, 45), 255, np.uint8))
    line = single_error(capsys, paths[0], full, tmp / "o.png")
    assert line.startswith(f"error: {full}: the mask covers the whole image")
    assert not (tmp / "o.png").exists()


def test_a_mask_painted_on_a_transparent_layer_fills_only_the_strokes(inputs, capsys):
    """White under transparent pixels is kept: the hole is where the mask is opaque."""
    img_dir, mask_dir, paths, tmp = inputs
    bgra = np.full((37, 45, 4), 255, np.uint8)
    bgra[..., 3] = hole_mask(37, 45)
    cv2.imwrite(str(tmp / "layer.png"), bgra)
    code = run_cli(f"--image={paths[0]}", f"--mask={tmp / 'layer.png'}", f"--output={tmp / 'o.png'}",
                   f"--model_dir={tiny_model_dir()}")
    assert code == 0, capsys.readouterr().err
    src, got = read_image(paths[0]), read_image(str(tmp / "o.png"))
    hole = hole_mask(37, 45) > 0
    np.testing.assert_array_equal(got[~hole], src[~hole])
    assert np.any(got[hole] != src[hole])


def test_an_output_that_is_not_png_is_refused_before_any_work(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    line = single_error(capsys, paths[0], mask_dir / "img_0.png", tmp / "o.jpg")
    assert line.startswith(f"error: --output={tmp / 'o.jpg'}: outputs are PNG")
    assert not (tmp / "o.jpg").exists()


def test_unreadable_file(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    bad = tmp / "bad.png"
    bad.write_bytes(b"this is not a png")
    line = single_error(capsys, paths[0], bad, tmp / "o.png")
    assert str(bad) in line and "not a readable image" in line


def test_size_mismatch_names_both(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    small = tmp / "small.png"
    write_png(str(small), hole_mask(20, 30))
    line = single_error(capsys, paths[0], small, tmp / "o.png")
    assert paths[0] in line and str(small) in line and "45x37" in line and "30x20" in line


def test_missing_checkpoint_and_config(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    empty = tmp / "model"
    empty.mkdir()
    args = [f"--image={paths[0]}", f"--mask={mask_dir / 'img_0.png'}", f"--output={tmp / 'o.png'}"]
    assert run_cli(*args, f"--model_dir={empty}") == 1
    assert str(empty / "config.json") in one_error_line(capsys)
    with open(os.path.join(tiny_model_dir(), "config.json")) as f:
        (empty / "config.json").write_text(f.read())
    assert run_cli(*args, f"--model_dir={empty}") == 1
    assert "no checkpoint" in one_error_line(capsys)
    assert run_cli(*args, f"--saved_model={tmp / 'no_export'}") == 1
    assert "no_export" in one_error_line(capsys)
    assert not (tmp / "o.png").exists()


def test_usage_errors(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    assert run_cli(f"--image={paths[0]}", f"--output={tmp / 'o.png'}", f"--model_dir={tiny_model_dir()}") == 1
    assert one_error_line(capsys) == "error: --mask missing: --image, --mask and --output are all required"
    assert run_cli(f"--image_dir={img_dir}", f"--model_dir={tiny_model_dir()}") == 1
    assert one_error_line(capsys) == ("error: --mask_dir and --output_dir missing: --image_dir, "
                                      "--mask_dir and --output_dir are all required")
    # No model flag means the shipped model (test_without_a_model_flag_it_uses_the_shipped_model);
    # two of them are refused.
    assert run_cli(f"--image={paths[0]}", f"--mask={paths[0]}", f"--output={tmp / 'o.png'}",
                   f"--saved_model={tiny_export_dir()}", f"--model_dir={tiny_model_dir()}") == 1
    assert one_error_line(capsys) == "error: give at most one of --model, --saved_model or --model_dir"
    assert not (tmp / "o.png").exists()


def test_folder_names_that_differ_only_in_the_extension_are_refused(inputs, capsys):
    """a.jpg and a.png would write one output (images) or be picked at random (masks)."""
    img_dir, mask_dir, paths, tmp = inputs
    for folder, clash in ((img_dir, img_dir / "img_0.jpg"), (mask_dir, mask_dir / "img_0.jpg")):
        cv2.imwrite(str(clash), np.zeros((37, 45, 3), np.uint8))
        assert run_cli(f"--image_dir={img_dir}", f"--mask_dir={mask_dir}", f"--output_dir={tmp / 'out'}",
                       f"--model_dir={tiny_model_dir()}") == 1
        assert one_error_line(capsys) == (
            f"error: {folder / 'img_0.jpg'} and {folder / 'img_0.png'} have the same name but for the "
            "extension: images and masks are matched by name, and each writes <name>.png; rename one")
        os.remove(clash)
    assert not (tmp / "out").exists()


def test_folder_mode_reports_bad_files_and_continues(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    (mask_dir / "img_2.png").write_bytes(b"broken")
    os.remove(mask_dir / "img_1.png")
    os.remove(mask_dir / "img_0.png")
    out_dir = tmp / "out"
    code = run_cli(f"--image_dir={img_dir}", f"--mask_dir={mask_dir}", f"--output_dir={out_dir}",
                   f"--model_dir={tiny_model_dir()}")
    assert code == 1
    line = one_error_line(capsys)
    assert str(mask_dir / "img_2.png") in line
    # The other image (no-hole mask) was still written, without loading the model.
    assert (out_dir / "sub" / "img_0.png").exists()


# ------------------------------------------------------------------ bad or hostile input (issue 17)

def test_zero_byte_and_truncated_image(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    empty, trunc = tmp / "empty.png", tmp / "trunc.png"
    empty.write_bytes(b"")
    data = open(paths[0], "rb").read()
    trunc.write_bytes(data[: len(data) // 2])
    for bad, reason in ((empty, "empty file"), (trunc, "truncated PNG (no IEND chunk)")):
        code = run_cli(f"--image={bad}", f"--mask={mask_dir / 'img_0.png'}", f"--output={tmp / 'o.png'}",
                       f"--model_dir={tiny_model_dir()}")
        assert code == 1
        assert one_error_line(capsys) == f"error: {bad}: {reason}"
    assert not (tmp / "o.png").exists()


def test_decompression_bomb_refused_by_max_pixels_before_decoding(inputs, capsys, monkeypatch):
    from tests.image_bombs import bomb_png
    img_dir, mask_dir, paths, tmp = inputs
    bomb = tmp / "bomb.png"
    bomb.write_bytes(bomb_png())
    decoded = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(1) or real(*a))
    code = run_cli(f"--image={bomb}", f"--mask={mask_dir / 'img_0.png'}", f"--output={tmp / 'o.png'}",
                   f"--model_dir={tiny_model_dir()}")
    assert code == 1
    assert one_error_line(capsys) == (f"error: {bomb}: 20000x20000 is 400000000 pixels, more than the "
                                      "limit of 40000000 (--max_pixels)")
    assert not decoded
    # The flag sets the limit for decoding too: a 45x37 image against --max_pixels=1000.
    code = run_cli(f"--image={paths[0]}", f"--mask={mask_dir / 'img_0.png'}", f"--output={tmp / 'o.png'}",
                   f"--model_dir={tiny_model_dir()}", "--max_pixels=1000")
    assert code == 1
    assert one_error_line(capsys) == (f"error: {paths[0]}: 45x37 is 1665 pixels, more than the limit of "
                                      "1000 (--max_pixels)")
    assert not (tmp / "o.png").exists()


def test_size_mismatch_exact_message(inputs, capsys):
    img_dir, mask_dir, paths, tmp = inputs
    small = tmp / "small.png"
    write_png(str(small), hole_mask(20, 30))
    assert run_cli(f"--image={paths[0]}", f"--mask={small}", f"--output={tmp / 'o.png'}",
                   f"--model_dir={tiny_model_dir()}") == 1
    assert one_error_line(capsys) == (f"error: size mismatch: image {paths[0]} is 45x37 (WxH) but mask "
                                      f"{small} is 30x20")


@pytest.mark.parametrize("where", ["image_dir", "mask_dir"])
def test_output_dir_inside_an_input_folder_is_refused(inputs, capsys, where):
    img_dir, mask_dir, paths, tmp = inputs
    folder = img_dir if where == "image_dir" else mask_dir
    out_dir = folder / "filled"
    code = run_cli(f"--image_dir={img_dir}", f"--mask_dir={mask_dir}", f"--output_dir={out_dir}",
                   f"--model_dir={tiny_model_dir()}")
    assert code == 1
    assert one_error_line(capsys) == (f"error: --output_dir={out_dir} is inside --{where}={folder}: outputs "
                                      "would be read back as inputs; choose another folder")
    assert not out_dir.exists()


def test_without_a_model_flag_it_uses_the_shipped_model(tmp_path, capsys):
    """A fresh clone inpaints a photo with no model flag: the shipped models/gain-photo, the same
    result as loading that SavedModel by hand."""
    from gain_tf.anysize import inpaint_image
    from gain_tf.inference import SHIPPED_MODEL, load_saved_model
    assert os.path.isfile(os.path.join(SHIPPED_MODEL, "saved_model.pb")), "the shipped model is committed"
    photo = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data_prep",
                         "heldout_photos", "opencv-doc__doc_opencv-doc_examples_data_fruits_01.png")
    image = read_image(photo)
    mask = hole_mask(*image.shape[:2], box=(0.3, 0.35, 0.3, 0.3))
    write_png(str(tmp_path / "mask.png"), mask)
    assert run_cli(f"--image={photo}", f"--mask={tmp_path / 'mask.png'}", f"--output={tmp_path / 'o.png'}") == 0
    assert f"using the shipped model {SHIPPED_MODEL}" in capsys.readouterr().err
    got = read_image(str(tmp_path / "o.png"))
    want = inpaint_image(load_saved_model(SHIPPED_MODEL), image, mask).image
    np.testing.assert_array_equal(got, want)
    hole = mask > 0
    np.testing.assert_array_equal(got[~hole], image[~hole])
