"""experiments/app.py and app_io.py: the pure functions, the request path (one generator run), the served page through gradio_client (bad inputs, then a
good one), and the page in a real headless Chromium (upload, paint, run, GAIN views, screenshot).

The server runs in a subprocess on a free loopback port, with the tiny exported model, its working
directory, HOME and TMPDIR pointed at empty folders (to check that nothing is written outside its
--output_dir), bounded in time and always stopped. The browser test uses Debian's ``chromium``
through Playwright's ``executable_path`` (WebGL through SwiftShader, which Gradio's editor needs);
it skips, saying why, only when no Chromium can be found.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import pytest

from experiments import app as app_mod
from experiments import app_io
from gain_tf import pictures
from gain_tf.anysize import InpaintInputError

APP_REASON = "the [app] extra (gradio, playwright) is not installed: pip install -e '.[app]'"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The README's picture: written when GAIN_TF_SCREENSHOT names a path (e.g. docs/app_screenshot.png),
# so that a test run leaves the work tree as it was.
SCREENSHOT = os.environ.get("GAIN_TF_SCREENSHOT")
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox",
                 "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SERVER_START_TIMEOUT = 150


# ---------------------------------------------------------------------------------- pure functions
def test_split_editor_value_reads_photo_and_painted_layers():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    background = np.concatenate([rgb, np.full((20, 30, 1), 255, np.uint8)], axis=-1)
    layer1 = np.zeros((20, 30, 4), np.uint8)
    layer1[2:5, 3:9] = (255, 214, 0, 191)
    layer1[10, 10, 3] = 1                              # a stroke's soft edge counts as hole
    layer2 = np.zeros((20, 30, 4), np.uint8)
    layer2[15:18, 20:25] = (0, 0, 0, 255)
    image, hole = app_io.split_editor_value(
        {"background": background, "layers": [layer1, None, layer2], "composite": background})
    assert image.dtype == np.uint8 and image.shape == (20, 30, 3)
    np.testing.assert_array_equal(image, rgb)
    expected = np.zeros((20, 30), np.uint8)
    expected[2:5, 3:9] = 255
    expected[10, 10] = 255
    expected[15:18, 20:25] = 255
    np.testing.assert_array_equal(hole, expected)


def test_split_editor_value_gray_transparent_and_unpainted():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    image, hole = app_io.split_editor_value({"background": gray, "layers": []})
    np.testing.assert_array_equal(image, np.repeat(gray[..., None], 3, axis=-1))
    assert hole.shape == (3, 4) and not hole.any()
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 100
    rgba[..., 3] = [[255, 0], [51, 255]]               # flattened onto white
    image, _ = app_io.split_editor_value({"background": rgba, "layers": None})
    np.testing.assert_array_equal(image[..., 0], [[100, 255], [224, 100]])


def test_split_editor_value_refuses_missing_photo_and_wrong_layer_size():
    for value in (None, {}, {"background": None, "layers": []}, "not a dict"):
        with pytest.raises(InpaintInputError, match="upload or paste a photo"):
            app_io.split_editor_value(value)
    with pytest.raises(InpaintInputError, match="painted layer is 5x4 but the photo is 6x3"):
        app_io.split_editor_value({"background": np.zeros((3, 6, 3), np.uint8),
                                    "layers": [np.zeros((4, 5, 4), np.uint8)]})


def test_check_page_input_messages_in_order():
    image = np.zeros((10, 10, 3), np.uint8)
    empty, full = np.zeros((10, 10), np.uint8), np.full((10, 10), 255, np.uint8)
    with pytest.raises(InpaintInputError, match=r"10x10 \(0.0 megapixels\), over this page's limit"):
        app_io.check_page_input(image, empty, max_pixels=99)
    with pytest.raises(InpaintInputError, match="nothing is painted"):
        app_io.check_page_input(image, empty, max_pixels=100)
    with pytest.raises(InpaintInputError, match="covers the whole photo"):
        app_io.check_page_input(image, full, max_pixels=100)
    hole = empty.copy()
    hole[3, 3] = 255
    app_io.check_page_input(image, hole, max_pixels=100)


class FakeInpainter:
    """Records each network run's batch shape; "inpaints" by filling the hole with grey,
    predicts a gradient of ones, and a fill order whose single block has closed the hole."""

    def __init__(self, training_size=32):
        self.training_size, self.config, self.runs = training_size, None, []

    def run(self, images, holes, views=False):
        self.runs.append(images.shape[:3])
        filled = np.where(holes[..., None] > 0, 128, images).astype(np.uint8)
        out = {"inpainted": filled, "gradient": np.ones(images.shape[:3] + (2,), np.float32)}
        if views:
            grid = 4
            masks = np.ones((len(images), 1, -(-images.shape[1] // grid),
                             -(-images.shape[2] // grid)), np.float32)
            out["fill_order"] = (["structure_dil1_2"], masks, grid)
        return out


def test_resolve_mode_and_the_view_box_from_one_run_per_request():
    from gain_tf.anysize import inpaint_image, resolve_mode
    assert resolve_mode("auto", 32, 32, 32) == "full"
    assert resolve_mode("auto", 20, 31, 32) == "resize"
    assert resolve_mode("auto", 32, 33, 32) == "crop"
    assert resolve_mode("resize", 1000, 1000, 32) == "resize"
    image = np.zeros((300, 400, 3), np.uint8)
    hole = np.zeros((300, 400), np.uint8)
    hole[10:14, 10:14] = 255                           # small region
    hole[200:230, 300:340] = 255                       # the largest: its crop window is shown
    model = FakeInpainter(256)
    done = inpaint_image(model, image, hole, mode="full", views=True)
    assert done.mode == "full" and done.view_box == (0, 0, 300, 400) and model.runs == [(1, 300, 400)]
    assert done.seen.shape == (300, 400, 3) and done.fill_order[1].shape == (1, 75, 100)
    model = FakeInpainter(32)
    done = inpaint_image(model, image, hole, views=True)
    assert done.mode == "crop" and len(done.boxes) == 2
    assert model.runs == [(2, 32, 32)]                 # both crops, 32x32 and 29x32, in one run
    assert done.view_box == (200 - 40, 300 - 40, 230 + 40, 340 + 40)
    assert done.seen.shape == (29, 32, 3) and done.seen_hole.shape == (29, 32)   # scaled to 32
    assert done.seen_gradient.shape == (29, 32, 2) and done.fill_order[1].shape == (1, 8, 8)
    assert inpaint_image(FakeInpainter(32), image, hole, mode="crop", margin=5).view_box == (
        195, 295, 235, 345)
    small = np.zeros((100, 50), np.uint8)
    small[0, 0] = 255                                  # one pixel stays a hole at 1/4 scale
    done = inpaint_image(FakeInpainter(25), np.zeros((100, 50, 3), np.uint8), small, mode="resize")
    assert done.seen.shape == (25, 12, 3) and done.seen_hole[0, 0] == 255
    assert done.seen_hole.sum() == 255 and done.fill_order is None     # views=False


def test_gradient_view_two_channels_edges_and_zeros():
    g = np.zeros((40, 600, 2), np.float32)
    g[:, 300:, 0] = 1.0                                # magnitude 1 on the right half
    hole = np.zeros((40, 600), np.uint8)
    view = pictures.gradient_view(g, max_side=300)
    assert view.dtype == np.uint8 and view.shape == (20, 300, 3)
    assert view[:, 200:].mean() > 3 * view[:, :100].mean()
    with_outline = pictures.gradient_view(g, np.pad(np.full((10, 10), 255, np.uint8),
                                                   ((15, 15), (100, 490))), max_side=300)
    assert (with_outline == 255).all(axis=-1).any()    # the hole's white outline
    assert pictures.gradient_view(np.zeros((8, 8, 2), np.float32), hole[:8, :8]).max() <= 10
    edges = pictures.gradient_view(np.full((8, 6, 1), 20.0, np.float32))   # edge logits
    assert edges.shape == (8 * 32, 6 * 32, 3) and edges.mean() > 100     # small maps enlarged
    assert pictures.gradient_view(np.zeros((8, 6, 1)), min_side=1).shape == (8, 6, 3)


def test_fill_order_strip_layout_and_shares():
    image = np.full((16, 24, 3), 128, np.uint8)
    hole = np.zeros((16, 24), np.uint8)
    hole[4:12, 4:20] = 255                             # 1/4 grid: rows 1..2, cols 1..4
    first = np.ones((4, 7), np.float32)                # padded grid wider than the image's 6
    first[1:3, 1:5] = 0.0
    second = np.ones((4, 7), np.float32)
    second[1:3, 1:3] = 0.0                             # half of the hole still open
    third = np.ones((4, 7), np.float32)
    names = ["structure_down2", "structure_dil1_2", "structure_dil1_4"]
    strip = pictures.fill_order_strip(image, hole, names, np.stack([first, second, third]), 4,
                                      tile=48, per_row=2)
    tile_h, tile_w = 32 + 30, 48                       # tile + label band
    assert strip.dtype == np.uint8
    assert strip.shape == (2 * tile_h + 6, 2 * tile_w + 6, 3)   # 4 tiles: input + 3 blocks
    hole_rgb = np.array(pictures.HOLE_RGB)

    def open_share(r, c):
        t = strip[r * (tile_h + 6):r * (tile_h + 6) + 32, c * (tile_w + 6):c * (tile_w + 6) + 48]
        return (np.abs(t.astype(int) - hole_rgb).sum(-1) < 60).mean()

    assert open_share(0, 0) == pytest.approx(open_share(0, 1)) == pytest.approx(1 / 3, abs=0.02)
    assert open_share(1, 0) == pytest.approx(1 / 6, abs=0.02) and open_share(1, 1) == 0
    with pytest.raises(ValueError):
        pictures.fill_order_strip(image, hole, names[:2], np.stack([first, second, third]), 4)


def test_fill_order_strip_follows_the_models_grid():
    """An eighth grid (num_downsamples=3) on a 20x28 photo, padded to 24x32: each cell covers 8x8
    pixels, the padding's cells cut off. (The page hard-coded the quarter grid and stretched the
    whole padded mask over the photo instead.)"""
    image = np.full((20, 28, 3), 128, np.uint8)
    hole = np.zeros((20, 28), np.uint8)
    hole[8:20, 8:24] = 255
    masks = np.ones((1, 3, 4), np.float32)
    masks[0, 1:3, 1:3] = 0.0                           # cells (1..2, 1..2): pixels 8..19 x 8..23
    strip = pictures.fill_order_strip(image, hole, ["structure_dil1_2"], masks, 8, tile=28)
    block = strip[:20, 28 + 6:2 * 28 + 6]              # the second tile, at scale 1
    open_px = np.abs(block.astype(int) - np.array(pictures.HOLE_RGB)).sum(-1) < 60
    np.testing.assert_array_equal(open_px, hole > 0)


def test_views_follow_num_downsamples():
    """The fill order comes back on the config's 1/2**num_downsamples grid, cut to the photo."""
    import tensorflow as tf

    from gain_tf.config import get_config
    from gain_tf.inference import Inpainter
    from gain_tf.models import GAINGenerator
    tf.keras.utils.set_random_seed(0)
    generator = GAINGenerator(get_config("tiny", num_downsamples=3))
    inpainter = Inpainter.from_generator(generator)
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    hole = np.zeros((40, 60), np.uint8)
    hole[10:30, 16:44] = 255
    names, masks, grid = inpainter.views(image, hole)["fill_order"]
    assert grid == 8 and masks.shape == (len(names), 5, 8)


def count_runs(inpainter) -> list:
    """Wraps ``inpainter``'s two signature functions so that each network run is recorded."""
    runs = []

    def counted(fn, name):
        return lambda **kw: runs.append(name) or fn(**kw)
    inpainter._fn = counted(inpainter._fn, "serving_default")
    inpainter.fill_order_fn = counted(inpainter.fill_order_fn, "fill_order")
    return runs


def test_a_request_runs_the_generator_once(tmp_path):
    from gain_tf.images import read_image
    from gain_tf.inference import load_saved_model
    from tests.fixtures_model import tiny_export_dir

    inpainter = load_saved_model(tiny_export_dir())
    runs = count_runs(inpainter)
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (30, 44, 3), dtype=np.uint8)
    layer = np.zeros((30, 44, 4), np.uint8)
    layer[8:22, 10:30, 3] = 255
    recorder = app_io.RunRecorder(str(tmp_path))
    paths, status = app_mod.answer(inpainter, {"background": photo, "layers": [layer]}, "full",
                                   recorder)
    assert runs == ["fill_order"], runs                 # the result and the views: one run
    assert "(full mode)" in status
    assert "Full mode ran it at 44x30, not the model's training size 32x32" in status
    assert set(paths) == {"fill_order", "gradient", "input", "inpainted", "mask"}
    result = read_image(paths["inpainted"])
    known = layer[..., 3] == 0
    np.testing.assert_array_equal(result[known], photo[known])
    strip = read_image(paths["fill_order"])
    assert strip.shape[0] > pictures.TILE and strip.std() > 10
    runs.clear()                                        # a large photo: crop mode, two regions
    big = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
    layer = np.zeros((150, 200, 4), np.uint8)
    layer[5:12, 5:12, 3] = 255
    layer[120:140, 150:190, 3] = 255
    _, status = app_mod.answer(inpainter, {"background": big, "layers": [layer]}, "auto", recorder)
    assert "(crop mode)" in status and runs == ["fill_order"], runs    # both regions, one run


def test_run_recorder_keeps_the_last_runs(tmp_path):
    rec = app_io.RunRecorder(str(tmp_path), keep=3)
    dirs = []
    for i in range(5):
        d = rec.new_dir()
        rec.finish(d, {"i": i})
        dirs.append(d)
        time.sleep(0.002)
    assert sorted(os.listdir(tmp_path / "runs")) == sorted(os.path.basename(d) for d in dirs[-3:])
    last = json.loads((tmp_path / "last_run.json").read_text())
    assert last == {"i": 4, "dir": dirs[-1]}


def test_prepare_environment_points_temp_files_into_the_output_dir(tmp_path, monkeypatch):
    for name in ("GRADIO_TEMP_DIR", "GRADIO_ANALYTICS_ENABLED", "TMPDIR"):
        monkeypatch.setenv(name, "unchanged")
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)
    out = app_io.prepare_environment(str(tmp_path / "out"))
    assert out == str(tmp_path / "out")
    assert os.environ["GRADIO_TEMP_DIR"] == os.path.join(out, "gradio_tmp")
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert tempfile.gettempdir() == os.path.join(out, "tmp")
    assert all(os.path.isdir(os.path.join(out, d)) for d in ("gradio_tmp", "tmp", "runs"))


def test_main_missing_model_is_one_line(tmp_path, capsys):
    from absl import flags

    fv = flags.FlagValues()
    app_mod.define_flags(fv)
    fv(["app", f"--saved_model={tmp_path / 'nope'}", f"--output_dir={tmp_path / 'out'}"])
    assert app_mod.main(["app"], fv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{tmp_path / 'nope'}: no such model file or SavedModel" in err
    assert not (tmp_path / "out").exists()



def test_main_serves_the_shipped_model_by_default(tmp_path, monkeypatch, capsys):
    from absl import flags

    from gain_tf import inference
    loaded = []

    def fake_load(path):
        loaded.append(path)
        raise ValueError("stop here")                           # before gradio starts serving
    monkeypatch.setattr(inference, "load_saved_model", fake_load)
    fv = flags.FlagValues()
    app_mod.define_flags(fv)
    fv(["app", f"--output_dir={tmp_path / 'out'}"])
    assert app_mod.main(["app"], fv) == 1
    assert loaded == [inference.SHIPPED_MODEL]
    assert capsys.readouterr().err.strip() == "error: stop here"


# --------------------------------------------------------------------------------- served page
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _files_under(path: str) -> list:
    return sorted(os.path.relpath(os.path.join(d, f), path)
                  for d, _, files in os.walk(path) for f in files)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free loopback port with the tiny export, in a subprocess (stopped at the end)."""
    for module in ("gradio", "gradio_client"):
        pytest.importorskip(module, reason=APP_REASON)
    from tests.fixtures_model import tiny_export_dir

    saved_model = tiny_export_dir()
    root = tmp_path_factory.mktemp("app_server")
    dirs = {k: root / k for k in ("cwd", "home", "tmp", "out", "client")}
    for d in dirs.values():
        d.mkdir()
    port = _free_port()
    env = dict(os.environ, HOME=str(dirs["home"]), TMPDIR=str(dirs["tmp"]),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONDONTWRITEBYTECODE="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("GRADIO_TEMP_DIR", None)
    log_path = root / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.app", f"--saved_model={saved_model}",
         "--host=127.0.0.1", f"--port={port}", f"--output_dir={dirs['out']}"],
        cwd=dirs["cwd"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + SERVER_START_TIMEOUT
        while not _http_ok(url):
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                tail = log_path.read_text()[-3000:]
                pytest.fail(f"the app did not start (exit code {proc.poll()}):\n{tail}")
            time.sleep(0.5)
        yield {"url": url, "proc": proc, "log": log_path, **dirs}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def _last_run(server) -> dict:
    return json.loads((server["out"] / "last_run.json").read_text())


def _read_rgb(path) -> np.ndarray:
    from gain_tf.images import read_image
    return read_image(str(path))


def _photo(directory, height=120, width=160, seed=5):
    """A procedural scene (shapes, stripes, gradients) of ``width`` x ``height`` as a PNG."""
    from gain_tf.synthetic import generate_scene
    side = max(height, width)
    scene = generate_scene(np.random.default_rng(seed), side)
    y0, x0 = (side - height) // 2, (side - width) // 2
    image = np.ascontiguousarray(scene[y0:y0 + height, x0:x0 + width])
    return _png(os.path.join(str(directory), "photo.png"), image), image


def _png(path, array):
    import cv2
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[-1] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
    elif arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), arr)
    return str(path)


def test_server_bad_inputs_get_one_message_then_a_good_one_works(server, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(server["url"], download_files=str(server["client"]), verbose=False)
    photo_path, photo = _photo(tmp_path)
    h, w = photo.shape[:2]
    layer = np.zeros((h, w, 4), np.uint8)
    layer[40:70, 50:100] = (255, 214, 0, 191)
    hole = layer[..., 3] > 0
    paths = {
        "layer": _png(tmp_path / "layer.png", layer),
        "blank": _png(tmp_path / "blank.png", np.zeros((h, w, 4), np.uint8)),
        "all": _png(tmp_path / "all.png", np.full((h, w, 4), 255, np.uint8)),
        "text": str(tmp_path / "notes.png"),
        "huge": _png(tmp_path / "huge.png", np.full((5000, 10000, 3), 90, np.uint8)),  # 50 MP
        "huge_layer": _png(tmp_path / "huge_layer.png", np.pad(
            np.full((100, 100, 4), 255, np.uint8), ((0, 4900), (0, 9900), (0, 0)))),
    }
    with open(paths["text"], "w") as f:
        f.write("this is not an image\n")

    def editor(background, *layers):
        return {"background": handle_file(background),
                "layers": [handle_file(paths[k]) for k in layers], "composite": None}

    bad = [
        ("not an image", editor(paths["text"], "layer"), "notes.png: not an image this page can read"),
        ("nothing painted", editor(photo_path, "blank"), "nothing is painted"),
        ("no layer", editor(photo_path), "nothing is painted"),
        ("all painted", editor(photo_path, "all"), "covers the whole photo"),
        ("50 megapixels", editor(paths["huge"], "huge_layer"),
         "the photo is 10000x5000 (50.0 megapixels), over this page's limit of 40 megapixels"),
    ]
    for name, value, message in bad:
        with pytest.raises(AppError) as info:
            client.predict(value, "auto", api_name="/inpaint")
        assert message in str(info.value), name
        assert "\n" not in str(info.value).strip(), name
        assert server["proc"].poll() is None and _http_ok(server["url"]), name
    assert not (server["out"] / "last_run.json").exists()       # nothing ran

    slider, files, gradient, fill_order, status = client.predict(
        editor(photo_path, "layer"), "auto", api_name="/inpaint")
    assert status.startswith(f"Inpainted {w}x{h}") and "(crop mode)" in status
    run = _last_run(server)
    received = _read_rgb(run["files"]["input"])
    np.testing.assert_array_equal(received, photo)              # the server got the photo as sent
    np.testing.assert_array_equal(_read_rgb(run["files"]["mask"])[..., 0] > 0, hole)
    result = _read_rgb(slider[1])
    np.testing.assert_array_equal(result, _read_rgb(run["files"]["inpainted"]))
    np.testing.assert_array_equal(_read_rgb(slider[0]), photo)
    assert result.shape == photo.shape
    np.testing.assert_array_equal(result[~hole], photo[~hole])  # known pixels bit-exact
    assert (result[hole] != photo[hole]).any(axis=-1).mean() > 0.5
    assert sorted(os.path.basename(f) for f in files) == ["inpainted.png", "mask.png"]
    np.testing.assert_array_equal(_read_rgb([f for f in files if f.endswith("mask.png")][0])[..., 0] > 0,
                                  hole)
    for view in (gradient, fill_order):
        assert _read_rgb(view).std() > 1
    # nothing written outside the output folder: the server's cwd, HOME and TMPDIR stay empty
    for key in ("cwd", "home", "tmp"):
        assert _files_under(server[key]) == [], key
    # nor beside the module (Gradio writes a .pyi stub beside any module defining a component class)
    assert not os.path.exists(os.path.join(ROOT, "experiments", "app.pyi"))
    assert server["proc"].poll() is None


# ------------------------------------------------------------------------------- a real browser
def _chromium() -> str | None:
    for candidate in (os.environ.get("GAIN_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _img_bytes(page, locator) -> bytes:
    src = locator.get_attribute("src")
    assert src, "the image has no src"
    response = page.request.get(src if src.startswith("http") else page.url.rstrip("/") + "/" + src)
    assert response.ok, src
    return response.body()


def _decode(data: bytes) -> np.ndarray:
    from gain_tf.images import decode_image_bytes
    return decode_image_bytes(data)


def _wait_until_changed(locator, before: np.ndarray, timeout: float):
    """Polls screenshots of ``locator`` until they differ from ``before`` (mean |Δ| > 5 grey levels)."""
    deadline = time.monotonic() + timeout
    while True:
        now = _decode(locator.screenshot())
        if now.shape != before.shape or np.abs(now.astype(int) - before).mean() > 5:
            return
        assert time.monotonic() < deadline, f"the canvas did not change within {timeout} s"
        time.sleep(0.2)


def test_browser_upload_paint_run_and_views(server, tmp_path):
    pytest.importorskip("playwright", reason=APP_REASON)
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no Chromium found (/usr/bin/chromium or chromium on PATH; .ci/run installs "
                    "Debian's chromium with apt-get): the browser test cannot run here")
    from playwright.sync_api import sync_playwright

    photo_path, photo = _photo(tmp_path, 150, 200)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS,
                                    headless=True, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            outside = []
            page.on("request", lambda r: outside.append(r.url) if r.url.startswith("http") and
                    not r.url.startswith(server["url"]) else None)
            page.goto(server["url"], wait_until="networkidle")
            canvas = page.locator("#editor canvas").first
            canvas.wait_for(state="visible")
            # the editor's canvas is visible before the upload: paint only once the photo is drawn
            # on it (on a slow machine a stroke made earlier went out on a blank canvas)
            blank = _decode(canvas.screenshot())
            page.locator("#editor input[type=file]").first.set_input_files(photo_path)
            _wait_until_changed(canvas, blank, timeout=60)
            page.get_by_role("button", name="Brush", exact=True).first.click()
            box = canvas.bounding_box()
            # a stroke across the middle of the canvas (where the centred photo is)
            x0, y0 = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.45
            page.mouse.move(x0, y0)
            page.mouse.down()
            for i in range(1, 16):
                page.mouse.move(x0 + box["width"] * 0.2 * i / 15, y0 + box["height"] * 0.08 * i / 15)
            page.mouse.up()
            page.locator("#run").click()
            page.wait_for_function(
                "() => { const t = document.querySelector('#status textarea');"
                " return t && t.value.startsWith('Inpainted'); }")
            status = page.locator("#status textarea").input_value()
            images = page.locator("#result img")
            images.last.wait_for(state="visible")
            result = _decode(_img_bytes(page, images.last))
            grad = page.locator("#gradient img")
            grad.wait_for(state="visible")
            assert grad.evaluate("e => e.naturalWidth > 0 && e.complete")
            gradient_img = _decode(_img_bytes(page, grad))
            page.get_by_role("tab", name="Fill order").click()
            fill = page.locator("#fill_order img")
            fill.wait_for(state="visible")
            assert fill.evaluate("e => e.naturalWidth > 0 && e.complete")
            fill_img = _decode(_img_bytes(page, fill))
            shot = SCREENSHOT or str(tmp_path / "app.png")
            os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
            page.screenshot(path=shot, full_page=True)
        finally:
            browser.close()
    run = _last_run(server)
    received = _read_rgb(run["files"]["input"])
    hole = _read_rgb(run["files"]["mask"])[..., 0] > 0
    np.testing.assert_array_equal(received, photo)              # the editor sent the photo as is
    assert 0.005 < hole.mean() < 0.5, hole.mean()               # the stroke, not the whole photo
    assert f"{photo.shape[1]}x{photo.shape[0]}" in status
    assert result.shape == received.shape
    np.testing.assert_array_equal(result[~hole], received[~hole])
    assert (result[hole] != received[hole]).any(axis=-1).mean() > 0.5
    assert gradient_img.std() > 1 and fill_img.std() > 1
    assert outside == [], f"the page fetched from outside the server: {outside[:5]}"
    assert os.path.getsize(shot) > 10_000
