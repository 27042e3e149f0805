"""The absl entry points, one per command (``python -m experiments.<command>``).

Importing this package drops the three lines TensorFlow 2.15 prints to stderr when it is imported
on a machine without CUDA ("Unable to register cuDNN / cuFFT / cuBLAS factory: Attempting to
register factory for plugin ... when one has already been registered"): it is TensorFlow's own
plugins registering twice, not an error of the command. ``TF_CPP_MIN_LOG_LEVEL`` cannot drop only
them: they are E-lines, so only level 3 hides them, and TensorFlow reads that level once, which
would hide every C++ error of the run. Instead, while TensorFlow's first import runs, stderr (file
descriptor 2) goes to a temporary file; afterwards everything it got is written back to stderr
except those lines. Later output is untouched.

TensorFlow 2.16 and later (the modern stack) print no factory lines, but on such a machine every
command's first op logs ``failed call to cuInit: ... UNKNOWN ERROR (303)`` as an E-line, right
after TensorFlow's own I-line "Could not find cuda drivers on your machine, GPU will not be used".
The import therefore also lists the physical devices inside the capture (which loads the CUDA
platform; it does not start the runtime, so threads and devices can still be configured), and the
cuInit line is dropped when that I-line came with it: without a driver it says nothing more. On a
machine with a driver whose cuInit fails, the line is kept.

Run directly (not through ``make``, which exports it), a command also defaults
``TF_CPP_MIN_LOG_LEVEL`` to 2 as the Makefile does: TensorFlow's C++ info and warning lines
(oneDNN, CPU features, TensorRT) stay hidden, its errors show. Set the variable to 0 to see them.
TensorFlow 2.21 writes its first info lines (``I0000 ...``, after a "WARNING: All log messages
before absl::InitializeLog() is called are written to STDERR" banner) before it reads that level;
they are dropped here when the level hides info lines.
"""
import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

_FACTORY_LINE = re.compile(rb"Unable to register cu(DNN|FFT|BLAS) factory")
_NO_DRIVER = re.compile(rb"Could not find cuda drivers on your machine")
_CUINIT_LINE = re.compile(rb"failed call to cuInit")
_EARLY_INFO = re.compile(rb"^I\d{4} |All log messages before absl::InitializeLog\(\) is called")


def _noise(captured: bytes) -> re.Pattern:
    """The lines to drop from what TensorFlow's import wrote: the factory lines; the cuInit
    failure when TensorFlow said in the same breath that the machine has no CUDA driver; and
    2.21's early info lines when ``TF_CPP_MIN_LOG_LEVEL`` hides info lines."""
    patterns = [_FACTORY_LINE.pattern]
    if _NO_DRIVER.search(captured):
        patterns.append(_CUINIT_LINE.pattern)
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip() not in ("", "0"):
        patterns.append(_EARLY_INFO.pattern)
    return re.compile(b"|".join(patterns))


@contextlib.contextmanager
def _stderr_to(fd: int):
    """File descriptor 2 (C++ and Python writes alike) goes to ``fd`` inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def stderr_without(pattern):
    """Captures file descriptor 2 inside the ``with`` block and writes it back at the end without
    the lines matching ``pattern`` (bytes; or a function of everything captured that returns the
    pattern)."""
    with tempfile.TemporaryFile() as capture:
        try:
            with _stderr_to(capture.fileno()):
                yield
        finally:
            capture.seek(0)
            captured = capture.read()
            drop = pattern(captured) if callable(pattern) else pattern
            kept = [line for line in captured.splitlines(keepends=True) if not drop.search(line)]
            if kept:
                os.write(2, b"".join(kept))


_FILTER = ("import re, sys\n"
           "drop = re.compile(sys.argv[1].encode('latin-1'))\n"
           "for line in sys.stdin.buffer:\n"
           "    if not drop.search(line):\n"
           "        sys.stdout.buffer.write(line)\n"
           "        sys.stdout.buffer.flush()\n")


@contextlib.contextmanager
def stderr_filtered(pattern: re.Pattern):
    """Like :func:`stderr_without`, but line by line as they are written, through a small filter
    process: a crash or an abort inside the block (a C++ check failure) keeps every line written
    before it, and nothing is held back until the end."""
    import subprocess
    sys.stderr.flush()
    filt = subprocess.Popen([sys.executable, "-c", _FILTER, pattern.pattern.decode("latin-1")],
                            stdin=subprocess.PIPE, stdout=2)   # to stderr as it is now
    try:
        with _stderr_to(filt.stdin.fileno()):
            yield
    finally:
        filt.stdin.close()
        filt.wait()


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs TensorFlow's first import inside :func:`stderr_without` (then removes itself)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            with stderr_without(_noise):
                run(module)
                module.config.list_physical_devices()

        spec.loader.exec_module = exec_module
        return spec


if "tensorflow" not in sys.modules:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.meta_path.insert(0, _QuietTensorFlowImport())


def no_extra_args(argv) -> None:
    """absl passes the words after the flags in ``argv[1:]``: an entry point takes none."""
    if len(argv) > 1:
        from absl import app
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")


def define_model_flags(flag_values, saved_model_help="SavedModel from experiments/export.py.",
                       exported: bool = False) -> None:
    """``--model_dir`` and ``--checkpoint`` (a training run), and ``--saved_model``: where the
    generator comes from; with ``exported``, also ``--model`` (any exported format), see
    :func:`model_or_shipped`."""
    from absl import flags
    if exported:
        flags.DEFINE_string("model", None, "Exported model: a SavedModel folder, a .tflite or an .onnx "
                            "file (experiments/export.py); default: the shipped models/gain-photo.",
                            flag_values=flag_values)
    flags.DEFINE_string("model_dir", None, "Training model_dir (config.json + checkpoints/).",
                        flag_values=flag_values)
    flags.DEFINE_string("checkpoint", None, "Checkpoint prefix (default: latest in --model_dir).",
                        flag_values=flag_values)
    flags.DEFINE_string("saved_model", None, saved_model_help, flag_values=flag_values)


def model_or_shipped(model=None, saved_model=None, model_dir=None):
    """``model`` as given, or the shipped model's path when none of the three model flags is set
    (saying so on stderr); ``ValueError`` when more than one is, ``FileNotFoundError`` when the
    shipped model is needed and missing."""
    if sum(bool(x) for x in (model, saved_model, model_dir)) > 1:
        raise ValueError("give at most one of --model, --saved_model or --model_dir")
    if model or saved_model or model_dir:
        return model
    from gain_tf.inference import shipped_model
    model = shipped_model()
    print(f"using the shipped model {model}", file=sys.stderr)
    return model
