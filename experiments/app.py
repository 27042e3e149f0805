r"""An interactive page: paint the hole on your photo, inpaint it, and look at GAIN's own views.

    python -m experiments.app                       # or: make app (the shipped models/gain-photo)
    python -m experiments.app --saved_model=demo_out/saved_model     # make demo's model
    # then open http://127.0.0.1:7860

Upload or paste a photo into the editor, paint the hole with the brush (its size is adjustable;
the eraser, undo and redo are in the editor's toolbar), choose a mode and press **Inpaint**. The
result is shown over the original with a slider; the result and the mask download as PNGs. Two
views show what only GAIN has, for the region the network saw (the crop with the most hole pixels
in ``crop`` mode, at the network's scale): the **predicted gradient magnitude** and the **fill
order**, a strip of how branch 1's hole shrinks block by block. Both come from the same generator
run as the result (:func:`gain_tf.anysize.inpaint_image` with ``views=True``). Large photos go
through ``crop`` mode (``auto``): their hole regions' crops run as one batch.

Everything the server writes stays in ``--output_dir`` (default ``app_out/``): Gradio's uploads and
cache (``GRADIO_TEMP_DIR``), temporary files, Keras's ``keras.json`` (``KERAS_HOME``, unless set),
and one folder per run in ``runs/`` (the last :data:`experiments.app_io.KEEP_RUNS` are kept) with
``input.png`` (the photo as the server received it), ``mask.png`` (white = hole),
``inpainted.png``, ``gradient.png``, ``fill_order.png`` and ``run.json``; ``last_run.json`` names
the newest. Bad input (not an image, no hole, a hole covering the whole photo, a photo over
``--max_pixels``) gets one message on the page and the server keeps serving.

The request path is :func:`answer` (editor value -> checks -> one ``inpaint_image`` -> pictures ->
files); :func:`build_app` makes the ``gr.Blocks`` around it. The editor's value, the checks and the
output folder are :mod:`experiments.app_io`, the pictures :mod:`gain_tf.pictures`. Gradio is
imported only inside :func:`build_app` / :func:`main`, after
:func:`experiments.app_io.prepare_environment` has pointed its temporary folder into the output
folder.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

from absl import app, flags

from experiments import no_extra_args
from experiments.app_io import (RunRecorder, check_page_input, prepare_environment,
                                read_editor_payload, save_png, split_editor_value)
from gain_tf import DEFAULT_MAX_MEMORY_GB, DEFAULT_MAX_PIXELS

MODE_CHOICES = ("auto", "crop", "full", "resize")
UPLOAD_LIMIT = "300mb"


def define_flags(flag_values=flags.FLAGS) -> None:
    """Defines this tool's flags (called by ``__main__``; tests pass their own ``FlagValues``)."""
    fv = flag_values
    flags.DEFINE_string("saved_model", None, "SavedModel from experiments/export.py (default: the "
                        "shipped models/gain-photo; make demo writes demo_out/saved_model).",
                        flag_values=fv)
    flags.DEFINE_string("host", "127.0.0.1", "Address to bind (127.0.0.1: this machine only).",
                        flag_values=fv)
    flags.DEFINE_integer("port", 7860, "Port to serve on.", flag_values=fv)
    flags.DEFINE_string("output_dir", "app_out", "Everything the server writes goes here.",
                        flag_values=fv)
    flags.DEFINE_integer("max_pixels", DEFAULT_MAX_PIXELS, "Refuse photos with more pixels than "
                         "this.", flag_values=fv)
    flags.DEFINE_float("max_memory_gb", DEFAULT_MAX_MEMORY_GB, "Refuse --mode=full runs estimated "
                       "over this.", flag_values=fv)


def answer(inpainter, editor_value, mode: str, recorder: RunRecorder,
           max_pixels: int = DEFAULT_MAX_PIXELS, max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
           progress=None) -> tuple:
    """The page's request path: the editor's value -> photo and hole -> the checks -> one
    :func:`gain_tf.anysize.inpaint_image` (the result and, from the same generator runs, the views)
    -> the pictures -> the run folder (:class:`experiments.app_io.RunRecorder`).

    Returns ``(paths, status)``: ``paths`` maps ``input``, ``mask``, ``inpainted``, ``gradient``
    and (when the model has a fill order) ``fill_order`` to the PNGs written. ``progress`` is
    Gradio's ``gr.Progress`` (or None). Raises :class:`gain_tf.anysize.InpaintInputError`.
    """
    from gain_tf.anysize import inpaint_image, resolve_mode, runs_off_size
    from gain_tf.pictures import fill_order_strip, gradient_view
    report = progress or (lambda *args, **kwargs: None)
    t0 = time.time()
    image, hole = split_editor_value(editor_value)
    check_page_input(image, hole, max_pixels)
    h, w = hole.shape
    report(0.0, desc=f"inpainting {w}x{h} ({resolve_mode(mode, h, w, inpainter.training_size)} mode)")
    done = inpaint_image(inpainter, image, hole, mode=mode, max_memory_gb=max_memory_gb,
                         max_pixels=max_pixels, views=True,
                         progress=lambda k, n: report((k, n), desc="hole regions", unit="regions"))
    seconds = time.time() - t0
    report(0.9, desc="GAIN views and files")
    run_dir = recorder.new_dir()
    paths = {k: os.path.join(run_dir, f"{k}.png")
             for k in ("input", "mask", "inpainted", "gradient", "fill_order")}
    save_png(paths["input"], image)
    save_png(paths["mask"], hole)
    save_png(paths["inpainted"], done.image)
    save_png(paths["gradient"], gradient_view(done.seen_gradient, done.seen_hole))
    note = ""
    if done.fill_order is not None:
        save_png(paths["fill_order"], fill_order_strip(done.seen, done.seen_hole, *done.fill_order))
    else:
        paths.pop("fill_order")
        note = " This model has no fill_order signature (export it again to see the fill order)."
    size = inpainter.training_size
    if runs_off_size(done.mode, h, w, size):
        note += (f" Full mode ran it at {w}x{h}, not the model's training size {size}x{size}, where "
                 "it fills worse: auto crops or scales to that size.")
    share = 100.0 * float((hole > 0).mean())
    status = (f"Inpainted {w}x{h} in {seconds:.1f} s ({done.mode} mode), hole {share:.1f} % of the "
              f"photo; known pixels are unchanged.{note}")
    recorder.finish(run_dir, {"width": w, "height": h, "mode": mode, "used_mode": done.mode,
                              "seconds": round(seconds, 3), "hole_percent": round(share, 3),
                              "files": paths, "view_box": list(done.view_box)})
    return paths, status


def _gradient_caption(config) -> str:
    guidance = getattr(getattr(config, "model", None), "guidance", "gradient")
    where = "of the region around the (largest) hole, hole outlined in white"
    if guidance == "edge":
        return f"GAIN's edge stream: the predicted edge probability {where}."
    if guidance == "none":
        return "This model has no guidance stream (guidance='none'): its map is zero."
    return f"GAIN's gradient stream: the predicted gradient magnitude |∇I*| {where}."


def build_app(inpainter, output_dir: str, max_pixels: int = DEFAULT_MAX_PIXELS,
              max_memory_gb: float = DEFAULT_MAX_MEMORY_GB):
    """The page (a ``gr.Blocks``) for ``inpainter`` (:func:`gain_tf.inference.load_model`),
    writing only into ``output_dir`` (see the module doc). Launch it with :func:`launch`."""
    output_dir = prepare_environment(output_dir)
    import gradio as gr

    from gain_tf.anysize import InpaintInputError

    recorder = RunRecorder(output_dir)
    size = inpainter.training_size

    def run(editor_payload, mode, progress=gr.Progress()):
        try:
            value = read_editor_payload(editor, editor_payload, max_pixels)
            paths, status = answer(inpainter, value, mode, recorder, max_pixels, max_memory_gb,
                                   progress)
        except gr.Error:
            raise
        except InpaintInputError as e:
            raise gr.Error(str(e), title="Cannot inpaint this", print_exception=False) from None
        except MemoryError:
            raise gr.Error("out of memory: use the crop mode or a smaller photo") from None
        except Exception as e:  # noqa: BLE001 - the server keeps serving; the log has the details
            traceback.print_exc()
            msg = " ".join(str(e).split())[:200]
            raise gr.Error(f"inpainting failed ({type(e).__name__}): {msg}") from None
        return ((paths["input"], paths["inpainted"]), [paths["inpainted"], paths["mask"]],
                paths["gradient"], paths.get("fill_order"), status)

    intro = (
        "## GAIN inpainting\n"
        "1. Upload or paste a photo. 2. Paint the hole with the brush (any colour; size, eraser, "
        "undo and redo are in the editor's toolbar). 3. Press **Inpaint**. Known pixels come "
        f"back unchanged. Model: `{os.path.basename(os.path.normpath(inpainter.source))}`, "
        f"trained at {size}×{size}; photos over {size} px go through `crop` mode in `auto`.")
    with gr.Blocks(title="GAIN inpainting", delete_cache=(1800, 3600),
                   analytics_enabled=False) as demo:
        gr.Markdown(intro)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                editor = gr.ImageEditor(
                    label="Photo: paint the hole", type="numpy", image_mode="RGBA",
                    sources=["upload", "clipboard"], transforms=(), layers=False,
                    brush=gr.Brush(default_size="auto", colors=["rgba(255, 214, 0, 0.75)"],
                                   color_mode="fixed"),
                    eraser=gr.Eraser(default_size="auto"), format="png", height=520,
                    elem_id="editor")
                with gr.Row():
                    mode = gr.Radio(list(MODE_CHOICES), value="auto", label="Mode",
                                    info="auto: crop above the model's size, resize below", scale=3,
                                    elem_id="mode")
                    button = gr.Button("Inpaint", variant="primary", scale=1, elem_id="run")
            with gr.Column(scale=1):
                slider = gr.ImageSlider(label="Original | result (drag the handle)", type="filepath",
                                        format="png", interactive=False, max_height=520,
                                        elem_id="result")
                status = gr.Textbox(label="Status", interactive=False, lines=2, elem_id="status")
                files = gr.File(label="Download the result and the mask", file_count="multiple",
                                interactive=False, elem_id="downloads")
        with gr.Tabs():
            with gr.Tab("Predicted gradient magnitude", elem_id="tab_gradient"):
                gr.Markdown(_gradient_caption(inpainter.config))
                grad_out = gr.Image(label="Predicted gradient magnitude", type="filepath",
                                    format="png", interactive=False, elem_id="gradient")
            with gr.Tab("Fill order", elem_id="tab_fill"):
                gr.Markdown("Branch 1's mask after each block: magenta is still hole, green is "
                            "filled so far (at the model's scale).")
                fill_out = gr.Image(label="Fill order", type="filepath", format="png",
                                    interactive=False, elem_id="fill_order")
        button.click(run, inputs=[editor, mode],
                     outputs=[slider, files, grad_out, fill_out, status],
                     api_name="inpaint", concurrency_limit=1, preprocess=False)
    demo.output_dir = output_dir
    return demo


def launch(demo, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Serves ``demo`` (from :func:`build_app`) on ``host:port``: no share link, no analytics, no
    server-side rendering or MCP, system fonts only (nothing fetched from the internet)."""
    import gradio as gr
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    return demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                       prevent_thread_lock=not block, allowed_paths=[demo.output_dir],
                       max_file_size=UPLOAD_LIMIT, ssr_mode=False, mcp_server=False,
                       footer_links=["api", "gradio"], theme=theme, quiet=False)


def main(argv, flag_values=flags.FLAGS) -> int:
    no_extra_args(argv)
    fv = flag_values
    if not fv.saved_model:
        from gain_tf.inference import shipped_model
        try:
            fv.saved_model = shipped_model()
        except FileNotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    # Keras writes keras.json into its home when TensorFlow is first imported: keep it in here too
    os.environ.setdefault("KERAS_HOME", os.path.join(os.path.abspath(fv.output_dir), "keras"))
    from gain_tf.inference import load_model
    try:
        inpainter = load_model(fv.saved_model)
    except (FileNotFoundError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    output_dir = prepare_environment(fv.output_dir)    # before gradio is imported
    import logging
    for name in ("httpx", "httpcore", "uvicorn.access"):   # absl shows INFO: not each request
        logging.getLogger(name).setLevel(logging.WARNING)
    demo = build_app(inpainter, output_dir, max_pixels=fv.max_pixels,
                     max_memory_gb=fv.max_memory_gb)
    print(f"serving {fv.saved_model} on http://{fv.host}:{fv.port} (writing to {output_dir}); "
          "Ctrl+C stops", flush=True)
    launch(demo, fv.host, fv.port, block=True)
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
