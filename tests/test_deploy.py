"""TFLite and ONNX exports (gain_tf/deploy, experiments/export.py --format): the demo-trained tiny model
exported once in every format, each run with its own runtime against the SavedModel, the self-check's
refusal, the CLI with --model in every format, the runtime-only snippets of docs/deploy.md, and the uint8
comparison changes that made the serving graph TFLite-convertible."""
import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from experiments import export as export_cli
from experiments import stderr_filtered
from experiments import inpaint as inpaint_cli
from gain_tf import deploy
from gain_tf.deploy import check as deploy_check
from gain_tf.deploy import convert as deploy_convert
from gain_tf.images import read_image, write_png
from gain_tf import inference
from gain_tf.anysize import InpaintInputError
from gain_tf.serving import composite_uint8, pad_to_multiple
from gain_tf.masks import valid_from_hole_mask
from tests.fixtures_model import DEMO_MODEL   # tiny, trained 2 500 steps at 64×64

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONNX_REASON = "the [onnx] extra (tf2onnx, onnx, onnxruntime) is not installed: pip install -e '.[onnx]'"
SIZE = 64                                                     # the demo model's training size


def run_export(*args):
    """experiments/export.py with its own flags; returns the exit code."""
    fv = flags.FlagValues()
    export_cli.define_flags(fv)
    return export_cli.main(fv(["export"] + list(args)), fv)


def run_inpaint(*args):
    fv = flags.FlagValues()
    inpaint_cli.define_flags(fv)
    return inpaint_cli.main(fv(["inpaint"] + list(args)), fv)


def one_error_line(capsys):
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(err) == 1, err
    return err[0]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The demo model as a SavedModel (from its checkpoint, through the CLI), loaded once
    (``source``, the reference of every comparison), and as ``.tflite`` with float32 (from the
    loaded SavedModel) and float16 weights (from the checkpoint, through the CLI), once."""
    root = tmp_path_factory.mktemp("deploy")
    paths = {"saved_model": str(root / "saved_model"), "tflite": str(root / "tiny.tflite"),
             "tflite16": str(root / "tiny16.tflite"), "root": root}
    assert run_export(f"--model_dir={DEMO_MODEL}", f"--export_dir={paths['saved_model']}") == 0
    paths["source"] = inference.load_model(paths["saved_model"])
    deploy.export_model(paths["source"], paths["tflite"], "tflite")
    assert run_export(f"--model_dir={DEMO_MODEL}", "--format=tflite", "--tflite_float16",
                      f"--output={paths['tflite16']}") == 0
    return paths


@pytest.fixture(scope="module")
def onnx_path(request):
    """The ``.onnx`` export of the SavedModel, through the CLI (skipped without the [onnx] extra)."""
    for module in ("onnxruntime", "onnx", "tf2onnx"):
        pytest.importorskip(module, reason=ONNX_REASON)
    exports = request.getfixturevalue("exports")
    path = str(exports["root"] / "tiny.onnx")
    assert run_export(f"--saved_model={exports['saved_model']}", "--format=onnx", f"--output={path}") == 0
    return path


@pytest.fixture(scope="module")
def saved_model_fn(exports):
    """The SavedModel's ``serving_default``: numpy uint8 in, ``inpainted`` uint8 out."""
    return lambda image, mask: np.asarray(exports["source"](image, mask)["inpainted"])


def assert_within_limits(want, got, masks, precision):
    """Known pixels bit-exact; hole pixels within the README's limits (computed here, not by
    gain_tf.deploy.check)."""
    assert got.dtype == np.uint8 and got.shape == want.shape
    hole = np.broadcast_to(masks > 0, want.shape)
    np.testing.assert_array_equal(got[~hole], want[~hole])
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))[hole]
    if precision == "float32":
        assert diff.max() <= 2 and diff.mean() <= 0.1, (diff.max(), diff.mean())
    else:
        mse = np.mean(diff ** 2)
        assert mse == 0 or 10 * np.log10(255 ** 2 / mse) >= 40.0, mse


# --------------------------------------------------------------------- the uint8 comparisons
def test_int32_comparisons_equal_the_uint8_formulas():
    """TFLite has no uint8 Greater / LessEqual / Select: the serving graph compares in int32. Same
    values as the old uint8 formulas, for every uint8 value and threshold."""
    values = tf.constant(np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1))
    for threshold in (0, 1, 127, 200, 254, 255):
        old = tf.cast(values <= tf.cast(threshold, tf.uint8), tf.float32)
        np.testing.assert_array_equal(valid_from_hole_mask(values, threshold=threshold).numpy(), old.numpy())
    signed = tf.constant(np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1))
    np.testing.assert_array_equal(valid_from_hole_mask(signed, threshold=3).numpy(),
                                  tf.cast(signed <= tf.cast(3, tf.int8), tf.float32).numpy())
    rng = np.random.default_rng(0)
    filled, image = (rng.integers(0, 256, (2, 9, 11, 3), dtype=np.uint8) for _ in range(2))
    mask = rng.integers(0, 256, (2, 9, 11, 1), dtype=np.uint8) * rng.integers(0, 2, (2, 9, 11, 1), dtype=np.uint8)
    got = composite_uint8(tf.constant(filled), tf.constant(image), tf.constant(mask))
    assert got.dtype == tf.uint8
    np.testing.assert_array_equal(got.numpy(), tf.where(tf.constant(mask) > 0, filled, image).numpy())


def test_pad_to_multiple_rounds_up_without_negative_modulo():
    for h in range(1, 30):
        x = tf.zeros([1, h, 3, 1])
        assert pad_to_multiple(x, 8).shape[1] == h + (-h) % 8


# ------------------------------------------------------------------------------- the exports
def test_tflite_has_only_builtin_ops_and_a_fixed_signature(exports):
    for key in ("tflite", "tflite16"):
        interpreter = tf.lite.Interpreter(model_path=exports[key])
        ops = {op["op_name"] for op in interpreter._get_ops_details()}
        assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops
        run = interpreter.get_signature_runner("serving_default")
        inputs, outputs = run.get_input_details(), run.get_output_details()
        assert {k: (list(v["shape"]), v["dtype"]) for k, v in inputs.items()} == {
            "image": ([1, SIZE, SIZE, 3], np.uint8), "mask": ([1, SIZE, SIZE, 1], np.uint8)}
        assert outputs["inpainted"]["dtype"] == np.uint8 and list(outputs["gradient"]["shape"]) == [1, SIZE, SIZE, 2]
    assert os.path.getsize(exports["tflite16"]) < 0.7 * os.path.getsize(exports["tflite"])


@pytest.mark.parametrize("key,precision", [("tflite", "float32"), ("tflite16", "float16")])
def test_tflite_agrees_with_the_saved_model(exports, saved_model_fn, key, precision):
    """Seeded examples other than the self-check's, through the bare interpreter."""
    run = tf.lite.Interpreter(model_path=exports[key]).get_signature_runner("serving_default")
    examples = deploy_check.check_examples([(1, SIZE, SIZE)] * 4, seed=7)
    want = np.concatenate([saved_model_fn(i, m) for i, m in examples])
    got = np.concatenate([run(image=i, mask=m)["inpainted"] for i, m in examples])
    assert_within_limits(want, got, np.concatenate([m for _, m in examples]), precision)
    assert np.any(got != np.concatenate([i for i, _ in examples]))  # the holes were filled


def test_onnx_agrees_with_the_saved_model_at_any_size(onnx_path, saved_model_fn):
    import onnx
    import onnxruntime as ort
    model = onnx.load(onnx_path)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    dims = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert all(isinstance(d, str) for d in dims["image"][:3]), dims          # dynamic N, H, W
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    assert sorted(o.name for o in session.get_outputs()) == ["gradient", "inpainted"]
    adapter = inference.load_model(onnx_path)            # the config travels in the metadata
    assert adapter.config.name == "tiny" and adapter.training_size == SIZE
    for n, h, w in ((2, SIZE, SIZE), (1, 45, 77), (1, 100, 72)):
        (image, mask), = deploy_check.check_examples([(n, h, w)], seed=11)
        got = session.run(["inpainted"], {"image": image, "mask": mask})[0]
        assert_within_limits(saved_model_fn(image, mask), got, mask, "float32")


# ---------------------------------------------------------------------- the self-check refuses
class Perturbed:
    """A runtime adapter whose output is moved by exactly 3 grey levels in the holes (or one known
    pixel changed by 1): what a broken conversion would return."""

    def __init__(self, inner, known=False):
        self.inner, self.known = inner, known

    def __call__(self, image, mask):
        out = dict(self.inner(image, mask))
        x = out["inpainted"].astype(np.int32)
        if self.known:
            n, y, x0 = np.argwhere(mask[..., 0] == 0)[0]                 # one value per call
            x[n, y, x0, 0] = x[n, y, x0, 0] + 1 if x[n, y, x0, 0] < 255 else 254
        else:
            hole = np.broadcast_to(mask > 0, x.shape)
            x = np.where(hole, np.where(x < 253, x + 3, x - 3), x)
        out["inpainted"] = x.astype(np.uint8)
        return out


def test_export_refuses_a_model_outside_the_limits(exports, monkeypatch, capsys):
    """The real bytes, a perturbed runtime: one error line, and the old file is left untouched."""
    data = open(exports["tflite"], "rb").read()
    monkeypatch.setattr(deploy_convert, "tflite_bytes", lambda *a, **k: data)
    real_load = deploy_convert.load_model
    monkeypatch.setattr(deploy_convert, "load_model", lambda p: Perturbed(real_load(p)))
    out_dir = exports["root"] / "refused"
    out_dir.mkdir()
    out = out_dir / "model.tflite"
    out.write_bytes(b"the previous export")
    code = run_export(f"--model_dir={DEMO_MODEL}", "--format=tflite", f"--output={out}")
    assert code == 1
    assert one_error_line(capsys) == (f"error: {out}: export refused: hole max |diff| = 3 grey levels "
                                      "(limit 2) against TensorFlow on 3 seeded examples")
    assert out.read_bytes() == b"the previous export" and os.listdir(out_dir) == ["model.tflite"]
    # A changed known pixel is refused whatever the limits.
    monkeypatch.setattr(deploy_convert, "load_model", lambda p: Perturbed(real_load(p), known=True))
    with pytest.raises(deploy.ExportCheckError) as e:
        deploy.export_model(exports["source"], str(out), "tflite")
    assert str(e.value) == (f"{out}: export refused: known pixel values changed = 3 (limit 0: bit-exact) "
                            "against TensorFlow on 3 seeded examples")
    assert out.read_bytes() == b"the previous export" and os.listdir(out_dir) == ["model.tflite"]


def test_float16_limit_names_the_psnr(exports, monkeypatch):
    data = open(exports["tflite16"], "rb").read()
    monkeypatch.setattr(deploy_convert, "tflite_bytes", lambda *a, **k: data)
    monkeypatch.setitem(deploy_check.LIMITS, "float16", {"psnr_db": 1000.0})
    out = exports["root"] / "psnr" / "model.tflite"
    with pytest.raises(deploy.ExportCheckError, match=r"^\S+model\.tflite: export refused: hole PSNR = "
                       r"\d+\.\d dB \(limit 1000 dB\) against TensorFlow on 3 seeded examples$"):
        deploy.export_model(exports["source"], str(out), "tflite", float16=True)
    assert os.listdir(out.parent) == []


def test_export_usage_errors(exports, capsys):
    sm = f"--saved_model={exports['saved_model']}"
    cases = [
        ((sm, f"--model_dir={DEMO_MODEL}", "--format=onnx", "--output=a.onnx"),
         "error: give exactly one of --model_dir or --saved_model"),
        ((sm, "--format=tflite"), "error: --format=tflite writes --output (a .tflite file, not --export_dir)"),
        ((sm, "--format=onnx", "--output=a.onnx", "--tflite_float16"), "error: --tflite_float16 needs --format=tflite"),
        ((sm, "--export_dir=x"), "error: --saved_model is a SavedModel already: use --format=tflite or --format=onnx"),
        ((sm, "--format=tflite", f"--output={exports['root'] / 'a.onnx'}"),
         f"error: {exports['root'] / 'a.onnx'}: a tflite export must be a file ending in .tflite"),
    ]
    for args, line in cases:
        assert run_export(*args) == 1
        assert one_error_line(capsys) == line


def test_the_converters_success_summary_is_dropped_and_errors_kept(capfd):
    """What the TFLite converter writes on a good conversion (from a real run, shortened) goes;
    anything else it or TensorFlow writes stays."""
    summary = (b"I1205 22:19:35.876520 139667202636672 builder_impl.py:801] Assets written to: "
               b"/tmp/tmpkpgtmrtp/assets\n"
               b"I1205 22:19:35.921027 139667202636672 fingerprinting_utils.py:49] Writing "
               b"fingerprint to /tmp/tmpkpgtmrtp/fingerprint.pb\n"
               b"Summary on the non-converted ops:\n---------------------------------\n"
               b" * Accepted dialects: tfl, builtin, func\n"
               b" * Non-Converted Ops: 259, Total Ops 1696, % non-converted = 15.27 %\n"
               b" * 259 ARITH ops\n\n- arith.constant:  259 occurrences  (i64: 1, f32: 182, i32: 76)\n"
               b"\n\n\n  (f32: 4)\n  (f64: 8, i8: 2, f32: 51, i32: 4)\n  (i1: 13)\n")
    kept = (b"E1205 22:19:36.000000 converter.cc:1] 'tf.Foo' op is neither a custom op nor a flex op\n"
            b"error: could not convert\n")
    with stderr_filtered(export_cli._CONVERTER_NOISE):
        os.write(2, summary + kept)
    assert capfd.readouterr().err.encode() == kept


# ----------------------------------------------------------------------------- inpainting CLI
@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A 150×130 scene (over the model's 64: crop mode) and a 50×40 one, with hole masks."""
    from gain_tf.synthetic import generate_scenes
    root = tmp_path_factory.mktemp("photos")
    files = {}
    for name, (h, w) in {"big": (150, 130), "small": (40, 50)}.items():
        image = np.ascontiguousarray(generate_scenes(1, max(h, w), seed=5)[0][:h, :w])
        hole = np.zeros((h, w), np.uint8)
        hole[h // 5:h // 5 + 14, w // 3:w // 3 + 20] = 255
        hole[h - 20:h - 8, 5:18] = 255
        write_png(str(root / "images" / f"{name}.png"), image)
        write_png(str(root / "masks" / f"{name}.png"), hole)
        files[name] = (str(root / "images" / f"{name}.png"), str(root / "masks" / f"{name}.png"), image,
                       hole > 0)
    return root, files


@pytest.fixture(params=["tflite", "tflite16", "onnx"])    # SavedModels: tests/test_inpaint_cli.py
def model_path(request):
    if request.param == "onnx":
        return request.getfixturevalue("onnx_path")
    return request.getfixturevalue("exports")[request.param]


def test_inpaint_cli_with_every_format(model_path, photo, capsys):
    """Folder mode (one model load): a photo over the model's size (crop mode) and a smaller one."""
    root, files = photo
    out_dir = root / f"out_{os.path.basename(model_path)}"
    code = run_inpaint(f"--model={model_path}", f"--image_dir={root / 'images'}",
                       f"--mask_dir={root / 'masks'}", f"--output_dir={out_dir}")
    assert code == 0, capsys.readouterr().err
    for name, (_, _, image, hole) in files.items():
        got = read_image(str(out_dir / f"{name}.png"))
        assert got.shape == image.shape
        np.testing.assert_array_equal(got[~hole], image[~hole])     # known pixels bit-exact
        assert np.any(got[hole] != image[hole])


def test_crop_mode_fills_alike_with_the_saved_model_and_its_tflite(exports):
    """Crop mode pads each region to the training size, as a fixed-size TFLite model must: on a
    photo whose hole regions are all wider than tall, the SavedModel's fills equal the .tflite's
    within the float32 limits (padded only to the largest region, the SavedModel ran them at
    another size than the training size and moved the fills)."""
    from gain_tf import anysize
    from gain_tf.synthetic import generate_scenes
    image = np.ascontiguousarray(generate_scenes(1, 600, seed=6)[0][:400])
    mask = np.zeros((400, 600), np.uint8)
    mask[30:38, 20:120] = mask[340:348, 440:560] = 255                 # two wide strokes, far apart
    boxes = anysize.hole_boxes(mask > 0, min_size=SIZE)
    assert len(boxes) == 2 and all(x1 - x0 > y1 - y0 for y0, x0, y1, x1 in boxes)
    want = anysize.inpaint_image(exports["source"], image, mask, mode="crop").image
    got = anysize.inpaint_image(inference.load_model(exports["tflite"]), image, mask, mode="crop").image
    assert_within_limits(want, got, mask[..., None], "float32")


def test_tflite_fixed_size_in_the_cli_and_the_adapter(exports, photo, capsys):
    root, files = photo
    image_path, mask_path, image, hole = files["big"]
    code = run_inpaint(f"--model={exports['tflite']}", f"--image={image_path}", f"--mask={mask_path}",
                       f"--output={root / 'o.png'}", "--mode=full")
    assert code == 1
    assert one_error_line(capsys) == (f"error: {image_path}: {exports['tflite']} takes images up to "
                                      "64x64 (its fixed size, --image_size at export); got 130x150: use "
                                      "--mode=crop or --mode=resize")
    model = inference.load_model(exports["tflite"])
    assert model.training_size == SIZE and model.config is None
    with pytest.raises(InpaintInputError, match="takes images up to 64x64"):
        model(image[None], hole[None, ..., None].astype(np.uint8))
    (images, masks), = deploy_check.check_examples([(3, 40, 56)], seed=2)  # smaller, a batch: padded, looped
    out = model(images, masks)
    assert out["inpainted"].shape == images.shape and out["gradient"].shape == (3, 40, 56, 2)
    known = np.broadcast_to(masks == 0, images.shape)
    np.testing.assert_array_equal(out["inpainted"][known], images[known])
    np.testing.assert_array_equal(model(images[1:2], masks[1:2])["inpainted"], out["inpainted"][1:2])
    fast = deploy.TFLiteInpainter(exports["tflite"], xnnpack=True)       # opt-in delegate
    assert any(op["op_name"] == "DELEGATE" for op in fast._keep._get_ops_details())
    np.testing.assert_array_equal(fast(images, masks)["inpainted"][known], images[known])


def test_model_flag_errors(exports, photo, capsys, tmp_path):
    root, files = photo
    image_path, mask_path, _, _ = files["small"]
    bad_ext, bad_tflite = tmp_path / "model.xyz", tmp_path / "model.tflite"
    bad_ext.write_bytes(b"x")
    bad_tflite.write_bytes(b"not a flatbuffer")
    cases = [(tmp_path / "missing.onnx", "no such model file or SavedModel folder"),
             (bad_ext, "unknown model format .xyz: expected a SavedModel folder, a .tflite or an .onnx file"),
             (bad_tflite, "could not load the TFLite model: not a TFLite flatbuffer")]
    for path, why in cases:
        code = run_inpaint(f"--model={path}", f"--image={image_path}", f"--mask={mask_path}",
                           f"--output={tmp_path / 'o.png'}")
        assert code == 1
        assert one_error_line(capsys) == f"error: {path}: {why}"
    assert run_inpaint(f"--model={exports['tflite']}", f"--saved_model={exports['saved_model']}",
                       f"--image={image_path}", f"--mask={mask_path}", f"--output={tmp_path / 'o.png'}") == 1
    assert one_error_line(capsys) == "error: give at most one of --model, --saved_model or --model_dir"
    assert not (tmp_path / "o.png").exists()
    # --model=<folder> is the SavedModel path that tests/test_inpaint_cli.py runs as --saved_model.
    assert inference.model_format(exports["saved_model"]) == "saved_model"
    assert inference.model_format(exports["tflite"]) == "tflite"


@pytest.mark.slow   # two evaluations (the shared exports are built for the other tests anyway)
def test_evaluate_scores_a_tflite_export_as_its_saved_model(exports, photo, tmp_path, capsys):
    """``experiments/evaluate.py --model`` on the .tflite export: the same images and masks, the
    same scores as the SavedModel it was converted from (float32: to rounding of the uint8 output)."""
    from experiments import evaluate as evaluate_cli
    root, _ = photo
    scores = {}
    for key in ("saved_model", "tflite"):
        fv = flags.FlagValues()
        evaluate_cli.define_flags(fv)
        out = tmp_path / key
        argv = fv(["evaluate", f"--model={exports[key]}", f"--data={root / 'images'}", "--buckets=20-30",
                   "--num_images=2", "--num_grid=0", "--baselines=false", f"--output_dir={out}"])
        assert evaluate_cli.main(argv, fv) == 0, capsys.readouterr().err
        rows = list(csv.DictReader(open(out / "results.csv")))
        scores[key] = {k: float(rows[0][k]) for k in ("psnr_db", "ssim", "grad_l1_hole")}
    assert scores["tflite"] == pytest.approx(scores["saved_model"], rel=1e-3), scores


# --------------------------------------------------------------- docs/deploy.md: runtime only
def deploy_doc_snippet(marker):
    deploy_page = open(os.path.join(ROOT, "docs", "deploy.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", deploy_page, re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, marker
    return found[0]


@pytest.mark.parametrize("fmt,marker", [("tflite", "tf.lite.Interpreter("),
                                        ("onnx", "ort.InferenceSession(")])
def test_deploy_doc_snippets_run_without_gain_tf(request, tmp_path, fmt, marker):
    path = request.getfixturevalue("exports")["tflite"] if fmt == "tflite" else request.getfixturevalue("onnx_path")
    code = deploy_doc_snippet(marker).replace(f"export/gain_small.{fmt}", path)
    code += "\nimport sys\nprint('GAIN_TF_IMPORTED=%s' % ('gain_tf' in sys.modules))\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "GAIN_TF_IMPORTED=False" in proc.stdout
