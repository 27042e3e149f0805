"""TFLite and ONNX exports behind the Inpainter interface: a .tflite file (TFLite interpreter) or an .onnx file (onnxruntime); :func:`gain_tf.inference.load_model` picks one by path."""
from __future__ import annotations

import numpy as np

from gain_tf.anysize import InpaintInputError
from gain_tf.inference import Inpainter
from gain_tf.serving import SIGNATURE_KEY

ONNX_CONFIG_KEY = "gain_tf_config"   # written by gain_tf.deploy.convert.onnx_bytes


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:300]


def _uint8_batch(image, mask) -> tuple:
    """``(image uint8 [N,H,W,3], mask uint8 [N,H,W,1])`` as numpy; ``ValueError`` otherwise."""
    image, mask = np.asarray(image), np.asarray(mask)
    if image.dtype != np.uint8 or mask.dtype != np.uint8:
        raise ValueError(f"expected uint8 image and mask, got {image.dtype} and {mask.dtype}")
    if image.ndim != 4 or image.shape[-1] != 3 or mask.shape != image.shape[:3] + (1,):
        raise ValueError(f"expected image [N,H,W,3] and mask [N,H,W,1], got {image.shape} and "
                         f"{mask.shape}")
    return image, mask


class TFLiteInpainter(Inpainter):
    """A ``.tflite`` export (:func:`gain_tf.deploy.convert.tflite_bytes`) run by the TFLite
    interpreter, called like :class:`Inpainter`:
    ``inpainter(image uint8 [N,H,W,3], mask uint8 [N,H,W,1])`` -> ``{'inpainted' uint8
    [N,H,W,3], 'gradient' float32 [N,H,W,C]}`` numpy arrays.

    The model's input size S × S is fixed: smaller inputs are mirror-padded to it bottom / right
    (as the SavedModel pads to its multiple) and the outputs cropped back, so known pixels stay
    bit-exact; larger ones raise :class:`gain_tf.anysize.InpaintInputError` (the crop and
    resize modes of :func:`gain_tf.anysize.inpaint_image` scale inputs to ``training_size``
    = S, so they always fit). Batches run one image at a time (the export's batch is 1).

    ``xnnpack=False`` (default) runs TFLite's built-in kernels, what the export's self-check
    runs (and what TF 2.15's signature runner does unless ``allocate_tensors`` was called first);
    ``xnnpack=True`` applies the XNNPACK delegate, whose float arithmetic can flip a mask-shrinkage
    decision of GAIN (docs/deploy.md).
    """

    def __init__(self, path: str, num_threads=None, xnnpack: bool = False):
        import tensorflow as tf
        resolver = tf.lite.experimental.OpResolverType
        try:
            interpreter = tf.lite.Interpreter(
                model_path=path, num_threads=num_threads,
                experimental_op_resolver_type=(resolver.AUTO if xnnpack
                                               else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
            if xnnpack:
                interpreter.allocate_tensors()  # applies the delegate: a signature runner does not
            runner = interpreter.get_signature_runner(SIGNATURE_KEY)
        except (ValueError, RuntimeError) as e:
            why = "not a TFLite flatbuffer" if "model identifier" in str(e) else _one_line(e)
            raise ValueError(f"{path}: could not load the TFLite model: {why}") from None
        details = runner.get_input_details()
        if sorted(details) != ["image", "mask"] or "inpainted" not in runner.get_output_details():
            raise ValueError(f"{path}: not a GAIN export (inputs {sorted(details)}, expected "
                             "image and mask)")
        self.batch, self.height, self.width = (int(v) for v in details["image"]["shape"][:3])
        super().__init__(None, None, path, keep=interpreter)
        self._runner = runner

    @property
    def known_size(self) -> int:
        """The fixed input size S (crops are scaled to fit it)."""
        return min(self.height, self.width)

    def __call__(self, image, mask) -> dict:
        image, mask = _uint8_batch(image, mask)
        n, h, w = image.shape[:3]
        if h > self.height or w > self.width:
            raise InpaintInputError(
                f"{self.source} takes images up to {self.width}x{self.height} (its fixed size, "
                f"--image_size at export); got {w}x{h}: use --mode=crop or --mode=resize")
        pad = ((0, 0), (0, self.height - h), (0, self.width - w), (0, 0))
        image_p, mask_p = np.pad(image, pad, mode="symmetric"), np.pad(mask, pad, mode="symmetric")
        outs = [self._runner(image=image_p[i:i + self.batch], mask=mask_p[i:i + self.batch])
                for i in range(0, n, self.batch)]
        return {k: np.concatenate([o[k] for o in outs])[:, :h, :w] for k in outs[0]}


class OnnxInpainter(Inpainter):
    """An ``.onnx`` export (:func:`gain_tf.deploy.convert.onnx_bytes`) run by onnxruntime (CPU),
    called like :class:`Inpainter`: any N, H and W, numpy in and out. ``config`` comes from the
    model's metadata (None if absent)."""

    def __init__(self, path: str, num_threads=None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise ImportError(f"{path}: running ONNX models needs onnxruntime, the [onnx] extra "
                              "(pip install -e '.[onnx]')") from None
        from gain_tf.config import GAINConfig
        options = ort.SessionOptions()
        options.log_severity_level = 3            # errors only
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        try:
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise ValueError(f"{path}: could not load the ONNX model: {_one_line(e)}") from None
        names = sorted(i.name for i in session.get_inputs())
        self._outputs = [o.name for o in session.get_outputs()]
        if names != ["image", "mask"] or "inpainted" not in self._outputs:
            raise ValueError(f"{path}: not a GAIN export (inputs {names}, expected image and mask)")
        config = session.get_modelmeta().custom_metadata_map.get(ONNX_CONFIG_KEY)
        try:
            config = GAINConfig.from_json(config) if config else None
        except (ValueError, TypeError, KeyError):
            config = None
        super().__init__(None, config, path, keep=session)
        self._session = session

    def __call__(self, image, mask) -> dict:
        image, mask = _uint8_batch(image, mask)
        return dict(zip(self._outputs, self._session.run(self._outputs, {"image": image, "mask": mask})))
