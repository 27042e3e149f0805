"""experiments/evaluate.py: the CLI end to end on a SavedModel, and its one-line errors."""
import math

from absl import flags

from experiments import evaluate as cli
from tests.evaluation.image_folder import data_dir, read_csv  # noqa: F401 (a fixture)
from tests.fixtures_model import tiny_export_dir


def run_cli(*args):
    fv = flags.FlagValues()
    cli.define_flags(fv)
    return cli.main(fv(["evaluate"] + list(args)), fv)


def test_cli_end_to_end_on_saved_model(data_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    code = run_cli(f"--saved_model={tiny_export_dir()}", f"--data={data_dir}", "--buckets=20-30",
                   "--num_images=6", f"--output_dir={out}", "--num_grid=2",
                   f"--inception_weights={tmp_path / 'missing.h5'}")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # The folder has 4 images: said once, and the progress line's total follows.
    assert (f"warning: {data_dir}: 4 images, fewer than num_images=6: each bucket scores these 4"
            in captured.err.splitlines())
    assert "evaluate  4/4  " in captured.err
    rows = read_csv(str(out / "results.csv"))
    assert {r["images"] for r in rows} == {"4"}
    md = (out / "results.md").read_text().splitlines()
    assert f"- model: {tiny_export_dir()}" in md and f"- data: {data_dir}" in md
    assert [r["method"] for r in rows] == ["GAIN", "Telea", "Navier-Stokes", "GAIN ∇I*", "zero gradient ∇"]
    assert all(r["fid"] == "n/a" for r in rows)
    assert all(math.isfinite(float(r["psnr_db"])) for r in rows[:3])
    assert all(r["psnr_db"] == "n/a" and math.isfinite(float(r["grad_l1_hole"])) for r in rows[3:])
    assert (out / "results.md").exists() and (out / "grid_GAIN_20-30.png").exists()


def test_cli_errors(data_dir, tmp_path, capsys):
    assert run_cli(f"--model_dir={tmp_path / 'none'}", f"--data={data_dir}", f"--output_dir={tmp_path}") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'none'}: model directory not found"]
    assert run_cli(f"--saved_model={tiny_export_dir()}", f"--model_dir={tmp_path}", f"--data={data_dir}",
                   f"--output_dir={tmp_path}") == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: give at most one of --model, --saved_model or --model_dir"
    # A mistyped --data is said first, before any model is looked for.
    assert run_cli(f"--model_dir={tmp_path / 'none'}", f"--data={tmp_path / 'nope'}",
                   f"--output_dir={tmp_path}") == 1
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope'}: no such file or directory"


def test_cli_takes_an_exported_model_by_default_the_shipped_one(data_dir, tmp_path, capsys):
    """``--model`` as experiments/inpaint.py takes it; no model flag: the shipped model, said so."""
    args = [f"--data={data_dir}", "--buckets=20-30", "--num_images=1", "--num_grid=0", "--baselines=false"]
    assert run_cli(f"--model={tiny_export_dir()}", *args, f"--output_dir={tmp_path / 'a'}") == 0
    assert f"evaluated {tiny_export_dir()}" in capsys.readouterr().out
    assert run_cli(*args, f"--output_dir={tmp_path / 'b'}") == 0
    out, err = capsys.readouterr()
    assert "using the shipped model" in err and "models/gain-photo" in out
    assert [r["method"] for r in read_csv(str(tmp_path / "b" / "results.csv"))][0] == "GAIN"


def test_cli_corrupt_tfrecord_is_one_line_naming_the_file(data_dir, tmp_path, capsys):
    from data_prep.build_tfrecords import build
    rec = tmp_path / "rec"
    build("folder", data_dir, str(rec), resolution=32, split="val", num_shards=1, workers=1, progress=False)
    shard = rec / "val-00000-of-00001.tfrecord"
    raw = bytearray(shard.read_bytes())
    first_len = int.from_bytes(raw[:8], "little")
    second_data = 8 + 4 + first_len + 4 + 8 + 4
    raw[second_data + 10] ^= 0xFF
    shard.write_bytes(bytes(raw))
    code = run_cli(f"--saved_model={tiny_export_dir()}", f"--data={rec}", "--buckets=20-30", "--num_images=4",
                   "--batch_size=1", f"--output_dir={tmp_path / 'out'}", "--num_grid=0",
                   f"--inception_weights={tmp_path / 'missing.h5'}")
    assert code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {shard}: corrupt TFRecord (corrupted record at {second_data})"]
