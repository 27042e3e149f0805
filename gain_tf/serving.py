"""The serving graph: the one pad / run / crop / composite path of GAIN, and the exported signatures.

* :func:`inpaint_graph` is the single implementation of "inpaint uint8 images of any size":
  pad bottom / right (symmetric, i.e. mirrored including the edge pixel, for any pad size) up to
  ``config.model.multiple``, run G, crop back, and composite with the **original uint8 pixels**:
  ``inpainted = where(hole, to_uint8(I*), image)``, so known pixels come back bit-exact. Masks at
  this boundary follow the user convention (non-zero = hole), converted with
  :func:`gain_tf.masks.valid_from_hole_mask` (threshold 0). The guidance computes G's extra input
  if it needs one (the masked Canny map of ``guidance='edge'`` models, in TensorFlow ops).
* :func:`views_graph` is the same run with branch 1's masks besides (the fill order).
* :func:`serving_specs` declares the inputs; :func:`make_serving_fn` / :func:`make_views_fn` wrap
  the two graphs as ``tf.function`` s with them. :mod:`gain_tf.export` saves these two functions as
  the SavedModel's signatures (:data:`SIGNATURE_KEY`, :data:`FILL_ORDER_KEY`) and
  :mod:`gain_tf.deploy.convert` traces TFLite and ONNX models with the same specs.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf

from gain_tf.images import to_model_range, to_uint8
from gain_tf.masks import valid_from_hole_mask

SIGNATURE_KEY = "serving_default"
FILL_ORDER_KEY = "fill_order"


def serving_specs(image_size=None, batch=None) -> tuple:
    """The serving input signature: uint8 ``image [N,H,W,3]`` and hole ``mask [N,H,W,1]``, with
    H = W = ``image_size`` and N = ``batch`` fixed when given (None: dynamic)."""
    return (tf.TensorSpec([batch, image_size, image_size, 3], tf.uint8, name="image"),
            tf.TensorSpec([batch, image_size, image_size, 1], tf.uint8, name="mask"))


def _symmetric_indices(n, total):
    """Indices ``0..total-1`` folded into ``0..n-1`` by mirroring (edge pixel repeated), any ``total``."""
    i = tf.range(total)
    j = i % (2 * n)
    return tf.where(j < n, j, 2 * n - 1 - j)


def pad_to_multiple(x, multiple: int):
    """Pads ``[N, H, W, C]`` bottom / right by mirroring up to multiples of ``multiple``."""
    shape = tf.shape(x)
    h, w = shape[1], shape[2]
    # Rounded up with a floor division of non-negative numbers: tf2onnx turns FloorMod into a
    # C-style remainder, which is wrong for ``(-h) % multiple``.
    hp = (h + multiple - 1) // multiple * multiple
    wp = (w + multiple - 1) // multiple * multiple
    x = tf.gather(x, _symmetric_indices(h, hp), axis=1)
    return tf.gather(x, _symmetric_indices(w, wp), axis=2)


def padded_inputs(generator, image, mask) -> tuple:
    """G's inputs for uint8 images and hole masks, padded to the model's multiple."""
    multiple = generator.config.model.multiple
    x = to_model_range(pad_to_multiple(image, multiple))
    valid = valid_from_hole_mask(pad_to_multiple(mask, multiple), threshold=0)
    return generator.guidance.serving_inputs(x, valid)


def composite_uint8(filled, image, mask):
    """``where(mask > 0, filled, image)`` for uint8 ``filled`` / ``image [N,H,W,3]`` and hole
    ``mask [N,H,W,1]``, compared and selected in int32 (TFLite has no uint8 Greater / Select);
    the same uint8 values as comparing in uint8."""
    hole = tf.cast(mask, tf.int32) > 0
    return tf.cast(tf.where(hole, tf.cast(filled, tf.int32), tf.cast(image, tf.int32)), tf.uint8)


def branch1_masks(masks, num_downsamples: int) -> list:
    """``[(block name, valid [N, H', W', 1])]`` of branch 1 from its last stride-2 block on (the
    priority blocks follow it), out of the generator's ``masks`` output."""
    branch1 = [(n, m) for n, m in masks if n.startswith("structure_")]
    return branch1[num_downsamples:]   # after the entry and stride-2 blocks


def _run(generator, image, mask, return_masks: bool) -> dict:
    image = tf.convert_to_tensor(image, tf.uint8)
    mask = tf.convert_to_tensor(mask, tf.uint8)
    shape = tf.shape(image)
    n, h, w = shape[0], shape[1], shape[2]
    out = generator(padded_inputs(generator, image, mask), training=False, return_masks=return_masks)
    pred = tf.cast(out["image"], tf.float32)[:, :h, :w, :]
    result = {"inpainted": composite_uint8(to_uint8(pred), image, mask)}
    if "gradient" in out:
        result["gradient"] = tf.cast(out["gradient"], tf.float32)[:, :h, :w, :]
    else:                                                   # no guidance stream
        result["gradient"] = tf.zeros(tf.stack([n, h, w, 2]), tf.float32)
    if return_masks:
        branch1 = branch1_masks(out["masks"], generator.config.model.num_downsamples)
        result["masks"] = tf.stack([m[..., 0] for _, m in branch1], axis=1)
        result["blocks"] = tf.constant([name for name, _ in branch1])
    return result


def inpaint_graph(generator, image, mask) -> dict:
    """uint8 ``image [N,H,W,3]`` and hole ``mask [N,H,W,1]`` (non-zero = hole), any H, W ->
    ``{'inpainted': uint8 [N,H,W,3], 'gradient': float32 [N,H,W,C]}`` (TF ops only).

    ``gradient`` is G's predicted guidance map, cropped: ``[N,H,W,2]`` for gradient guidance, the
    edge logits ``[N,H,W,1]`` for edge guidance, zeros ``[N,H,W,2]`` for ``guidance='none'``.
    """
    return _run(generator, image, mask, return_masks=False)


def views_graph(generator, image, mask) -> dict:
    """:func:`inpaint_graph`'s outputs and, from the same generator run, branch 1's mask after
    each block from its last stride-2 block on (the priority blocks come next): ``masks`` float32
    ``[N, K, H', W']`` (1 = known) on the ``1/2**num_downsamples`` grid of the padded input, and
    ``blocks`` string ``[K]`` (TF ops only; the SavedModel's ``fill_order`` signature)."""
    return _run(generator, image, mask, return_masks=True)


def make_serving_fn(generator) -> Callable:
    """``fn(image=uint8 [N,H,W,3], mask=uint8 [N,H,W,1])`` -> :func:`inpaint_graph`'s dict, a
    ``tf.function`` with :func:`serving_specs` (the SavedModel's ``serving_default``)."""
    return tf.function(lambda image, mask: inpaint_graph(generator, image, mask),
                       input_signature=serving_specs(), autograph=False)


def make_views_fn(generator) -> Callable:
    """:func:`views_graph` as a ``tf.function`` with :func:`serving_specs` (the SavedModel's
    ``fill_order`` signature)."""
    return tf.function(lambda image, mask: views_graph(generator, image, mask),
                       input_signature=serving_specs(), autograph=False)
