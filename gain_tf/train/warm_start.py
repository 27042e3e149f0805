"""Warm start: begin a run from another run's weights, widening the generator if it is wider.

``Trainer(config, TrainOptions(..., init_from="models/gain-photo/run"))`` starts a new run (step 0,
fresh Adam states, so a fresh learning-rate schedule) with the generator and both discriminators
of the other run's checkpoint. The discriminators must have the same shapes. The generator may
have the same widths or wider ones (``image_channels`` / ``gradient_channels``); every other
field of ``config.model`` that shapes it must match.

Widening keeps the old channels in front and appends new ones, block by block::

    kernel[:, :, old in, old out] = the old kernel      bias[old out] = the old bias
    kernel[:, :, any in, new out] = 0                    bias[new out] = 0
    kernel[:, :, new in, old out] = scale · a fresh init (the new layer's own initial kernel)

The channel layouts this follows: a stream grows from C to C' with channels ``[old C | new]``;
the decoder's input is ``[structure | content]`` of both; :class:`GradientFilter`'s output is
``[∂x of C' | ∂y of C']``. The new channels start at exactly 0 (ELU(0) = 0), so every layer,
including the two that mix all channels without weights (the contextual attention's matching
scores and MaskShrink's priority, which is invariant to the 1/C' of its channel mean), computes
what the narrow generator did: the outputs are the same. Training is not stuck at that point:
the random outgoing weights pass gradients back to the new channels' zero incoming weights,
and differ per channel, so the new channels do not learn as copies of each other (``scale=0``
would leave them at 0 for good).
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from absl import logging

from gain_tf.run_dir import CHECKPOINT_SUBDIR, RunDir


def _grown(old: int, new: int) -> np.ndarray:
    """The channel map of a stream grown from ``old`` to ``new`` channels: new channel -> old
    channel, or -1 for an added one."""
    if new < old:
        raise ValueError(f"cannot narrow a layer from {old} to {new} channels")
    return np.concatenate([np.arange(old), -np.ones(new - old, np.int64)])


def _shift(channel_map: np.ndarray, offset: int) -> np.ndarray:
    return np.where(channel_map >= 0, channel_map + offset, -1)


def _transfer(old, new, in_map, out_map, scale):
    """Sets ``new``'s kernel and bias from ``old``'s (two :class:`PartialConv2D`) by the maps."""
    w_old, w = old.kernel.numpy(), new.kernel.numpy()
    if w.shape[:2] != w_old.shape[:2] or w.shape[2:] != (len(in_map), len(out_map)):
        raise ValueError(f"{new.name}: kernel {w.shape} does not grow from {w_old.shape}")
    i_old, o_old = np.flatnonzero(in_map >= 0), np.flatnonzero(out_map >= 0)
    fresh, w = w, np.zeros_like(w)
    w[:, :, :, o_old] = scale * fresh[:, :, :, o_old]   # from new inputs (old rows are set next)
    w[:, :, i_old[:, None], o_old[None, :]] = w_old[:, :, in_map[i_old][:, None],
                                                   out_map[o_old][None, :]]
    new.kernel.assign(w)
    if new.bias is not None:
        b = np.zeros(len(out_map), new.bias.dtype.as_numpy_dtype)
        b[o_old] = old.bias.numpy()[out_map[o_old]]
        new.bias.assign(b)
    return 2 if new.bias is not None else 1


def _widen_block(old, new, img_in, grad_in, scale):
    """One :class:`GAIBlock`; returns its output channel maps and the number of variables set."""
    if (old.fusion, old.gradient_filters > 0) != (new.fusion, new.gradient_filters > 0):
        raise ValueError(f"{new.name}: the blocks differ in fusion or gradient stream")
    img_out = _grown(old.image_filters, new.image_filters)
    grad_out = _grown(old.gradient_filters, new.gradient_filters)
    n = _transfer(old.pconv_ii, new.pconv_ii, img_in, img_out, scale)
    if old.gradient_filters:
        n += _transfer(old.pconv_gg, new.pconv_gg, grad_in, grad_out, scale)
    if old.fusion:
        n += _transfer(old.pconv_gi, new.pconv_gi, grad_in, img_out, scale)
        sobel_in = np.concatenate([img_out, _shift(img_out, old.image_filters)])
        n += _transfer(old.pconv_ig, new.pconv_ig, sobel_in, grad_out, scale)
    return img_out, grad_out, n


def widen_generator(old, new, scale: float = 1.0) -> None:
    """Copies the built :class:`GAINGenerator` ``old`` into the built, same-or-wider ``new``.

    ``scale`` sets the added channels' outgoing weights: ``scale`` × ``new``'s own initial kernel.
    ``new`` then computes what ``old`` does, whatever ``scale``.
    Raises ``ValueError`` when the two differ in anything but widths.
    """
    names = lambda g: [b.name for b in g.branches["structure"] + g.branches["content"]
                       + g.decoder_blocks] + [g.output_block.name]
    if names(old) != names(new) or (old.attention is None) != (new.attention is None):
        raise ValueError("the generators differ in more than their widths (blocks: "
                         f"{len(names(old))} and {len(names(new))}; attention: "
                         f"{old.attention is not None} and {new.attention is not None})")
    guide = np.arange(old.guidance.channels)
    ends, done = [], 0
    for branch in ("structure", "content"):
        img, grad = np.arange(3), guide
        for o, n in zip(old.branches[branch], new.branches[branch]):
            img, grad, k = _widen_block(o, n, img, grad, scale)
            done += k
        ends.append((img, grad, o.image_filters, o.gradient_filters))
    (s_img, s_grad, s_ci, s_cg), (c_img, c_grad, _, _) = ends
    img = np.concatenate([s_img, _shift(c_img, s_ci)])
    grad = np.concatenate([s_grad, _shift(c_grad, s_cg)])
    for o, n in zip(old.decoder_blocks + [old.output_block], new.decoder_blocks + [new.output_block]):
        img, grad, k = _widen_block(o, n, img, grad, scale)
        done += k
    if done != len(new.trainable_variables):
        raise ValueError(f"widened {done} of the generator's {len(new.trainable_variables)} "
                         "variables: the generator has layers this function does not know")


def resolve(init_from: str):
    """``(run folder, checkpoint prefix)`` of ``init_from``: a run folder (its latest checkpoint)
    or a checkpoint prefix in a run's ``checkpoints/``. Errors name the path."""
    if os.path.isdir(init_from):
        run = RunDir(init_from)
        return run, run.latest_checkpoint()
    folder = os.path.dirname(os.path.abspath(init_from))
    if os.path.basename(folder) != CHECKPOINT_SUBDIR:
        raise FileNotFoundError(f"--init_from={init_from}: neither a run folder nor a checkpoint "
                                f"in a run's {CHECKPOINT_SUBDIR}/")
    run = RunDir(os.path.dirname(folder))
    return run, run.latest_checkpoint(init_from)


def warm_start(trainer, init_from: str, scale: float = 1.0) -> str:
    """Sets a built trainer's generator (widened if wider) and discriminators from ``init_from``
    (see :func:`resolve`); returns the checkpoint prefix read."""
    from gain_tf.inference import load_generator
    from gain_tf.models import build_discriminators
    run, path = resolve(init_from)
    old_config = run.read_config()
    old = load_generator(run.path, path)
    with trainer.strategy.scope():
        widen_generator(old, trainer.generator, scale)
    d_old = build_discriminators(old_config)
    inputs = old.example_inputs(old_config.model.multiple * 4)
    for d, x in zip(d_old, (inputs[0], old(inputs).get("gradient"))):
        if d is not None:
            d((x, inputs[1]))
    ckpt = tf.train.Checkpoint(d_image=d_old[0], **({"d_guide": d_old[1]} if d_old[1] else {}))
    ckpt.restore(path).expect_partial().assert_existing_objects_matched()
    for d, target in zip(d_old, (trainer.d_image, trainer.d_guide)):
        if (d is None) != (target is None) or (d and [v.shape for v in d.weights]
                                                != [v.shape for v in target.weights]):
            raise ValueError(f"--init_from={init_from}: its discriminators differ in shape from "
                             "this config's (disc_* fields); only the generator may grow")
        for src, dst in zip(d.weights if d else [], target.weights if target else []):
            dst.assign(src)
    logging.info("warm start from %s: generator %s -> %s channels (image/gradient), "
                 "discriminators copied", path,
                 f"{old_config.model.image_channels}/{old_config.model.gradient_channels}",
                 f"{trainer.config.model.image_channels}/{trainer.config.model.gradient_channels}")
    return path
