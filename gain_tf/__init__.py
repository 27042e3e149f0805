"""gain-tf: GAIN (Gradient Augmented Inpainting Network, ACM MM 2019) in TensorFlow 2 / Keras.

Mask convention: inside the library a ``valid`` mask is ``[B, H, W, 1]`` with 1 = known pixel and
0 = hole. Files, command lines and exported models use white / non-zero = hole instead; the one
conversion between the two lives in :mod:`gain_tf.masks`.
"""

import os as _os

__version__ = "0.2.0"
# The checkout (an editable install): where the shipped model and the committed held-out photos live.
REPO_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
