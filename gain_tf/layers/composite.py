"""The composite: the prediction in the holes, the target where known (no OpenCV, no Keras state)."""
from __future__ import annotations


def composite(prediction, target, valid):
    """``prediction ⊙ (1 − M) + target ⊙ M`` with the library's valid mask ``M`` (1 = known)."""
    return prediction * (1.0 - valid) + target * valid
