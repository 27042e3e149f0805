"""gain-tf: GAIN (Gradient Augmented Inpainting Network, ACM MM 2019) in TensorFlow 2 / Keras.

Mask convention: inside the library a ``valid`` mask is ``[B, H, W, 1]`` with 1 = known pixel and
0 = hole. Files, command lines and exported models use white / non-zero = hole instead; the one
conversion between the two lives in :mod:`gain_tf.masks`.

Two stacks (docs/stacks.md): the reference (Python 3.11, TensorFlow 2.15, Keras 2) and the modern
one (Python 3.12–3.13, TensorFlow 2.21 with ``tf-keras`` 2.21). The code is written against
Keras 2's ``tf.keras``; on TensorFlow ≥ 2.16, whose own ``tf.keras`` is Keras 3, importing this
package sets ``TF_USE_LEGACY_KERAS=1`` (unless already set) so that ``tf.keras`` is ``tf-keras``.
TensorFlow reads that variable when ``tf.keras`` is first used, so importing TensorFlow before this
package is fine as long as nothing touched ``tf.keras`` in between.
"""
import os as _os


def _installed_keras_is_3() -> bool:
    """Whether the installed ``keras`` distribution is Keras 3 (TensorFlow ≥ 2.16), without importing it.

    On the reference stack (keras 2.15) nothing is set: there ``TF_USE_LEGACY_KERAS=1`` would route
    ``tf.keras`` to the ``tf-keras`` 2.15 that tensorflow-hub brings along, not the pinned keras.
    """
    from importlib import metadata

    try:
        return metadata.version("keras").split(".")[0] == "3"
    except metadata.PackageNotFoundError:
        return False


if "TF_USE_LEGACY_KERAS" not in _os.environ and _installed_keras_is_3():
    _os.environ["TF_USE_LEGACY_KERAS"] = "1"

import os as _os

__version__ = "0.2.0"
# The checkout (an editable install): where the shipped model and the committed held-out photos live.
REPO_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
# The limits of the tools that read photos (images, the CLI, the page), here so that flag
# definitions and data_prep/ name them without importing TensorFlow.
DEFAULT_MAX_PIXELS = 40_000_000   # refuse larger images (decompression bombs); read from the header
DEFAULT_MAX_MEMORY_GB = 8.0       # refuse --mode=full runs estimated over this
