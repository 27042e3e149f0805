"""Warm start: begin a run from another run's weights, widening the generator if it is wider.

``Trainer(config, TrainOptions(..., init_from="models/gain-photo/run"))`` starts a new run (step 0,
fresh Adam states, so a fresh learning-rate schedule) with the generator and both discriminators
of the other run's checkpoint. The discriminators must have the same shapes. The generator may
have the same widths or wider ones (``image_channels`` / ``gradient_channels``); every other
field of ``config.model`` that shapes it must match.

Widening keeps the old channels in front and appends new ones, block by block::

    kernel[:, :, old in, old out] = the old kernel      bias[old out] = the old bias
    kernel[:, :, any in, new out] = 0                    bias[new out] = 0
    kernel[:, :, new in, old out] = the new layer's own random initial kernel

The channel layouts this follows: a stream grows from C to C' with channels ``[old C | new]``;
the decoder's input is ``[structure | content]`` of both; :class:`GradientFilter`'s output is
``[∂x of C' | ∂y of C']``. The new channels start at 0 (act(0) = 0, checked), so every layer,
including the two that mix all channels without weights (the contextual attention's matching
scores, and MaskShrink, whose priority is scaled by C/C' through its channel mean but whose
admitted mask is not), computes what the narrow generator did: the outputs are the same up to
float rounding. Training is not stuck at that point: the random outgoing weights pass gradients
back to the new channels' zero incoming weights (act'(0) ≠ 0, checked: not so for ReLU), and
differ per channel, so the new channels do not learn as copies of each other.
"""
from __future__ import annotations

import dataclasses
import json
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


def _transfer(old, new, in_map, out_map):
    """Sets ``new``'s kernel and bias from ``old``'s (two :class:`PartialConv2D`) by the maps."""
    w_old, w = old.kernel.numpy(), new.kernel.numpy()
    if w.shape[:2] != w_old.shape[:2] or w.shape[2:] != (len(in_map), len(out_map)):
        raise ValueError(f"{new.name}: kernel {w.shape} does not grow from {w_old.shape}")
    i_old, o_old = np.flatnonzero(in_map >= 0), np.flatnonzero(out_map >= 0)
    fresh, w = w, np.zeros_like(w)
    w[:, :, :, o_old] = fresh[:, :, :, o_old]   # from new inputs (old rows are set next)
    w[:, :, i_old[:, None], o_old[None, :]] = w_old[:, :, in_map[i_old][:, None],
                                                   out_map[o_old][None, :]]
    new.kernel.assign(w)
    if new.bias is not None:
        b = np.zeros(len(out_map), new.bias.dtype.as_numpy_dtype)
        b[o_old] = old.bias.numpy()[out_map[o_old]]
        new.bias.assign(b)
    return 2 if new.bias is not None else 1


def _widen_block(old, new, img_in, grad_in):
    """One :class:`GAIBlock`; returns its output channel maps and the number of variables set."""
    if (old.fusion, old.gradient_filters > 0) != (new.fusion, new.gradient_filters > 0):
        raise ValueError(f"{new.name}: the blocks differ in fusion or gradient stream")
    img_out = _grown(old.image_filters, new.image_filters)
    grad_out = _grown(old.gradient_filters, new.gradient_filters)
    n = _transfer(old.pconv_ii, new.pconv_ii, img_in, img_out)
    if old.gradient_filters:
        n += _transfer(old.pconv_gg, new.pconv_gg, grad_in, grad_out)
    if old.fusion:
        n += _transfer(old.pconv_gi, new.pconv_gi, grad_in, img_out)
        sobel_in = np.concatenate([img_out, _shift(img_out, old.image_filters)])
        n += _transfer(old.pconv_ig, new.pconv_ig, sobel_in, grad_out)
    return img_out, grad_out, n


def widen_generator(old, new) -> None:
    """Copies the built :class:`GAINGenerator` ``old`` into the built, same-or-wider ``new``.

    The added channels' outgoing weights are ``new``'s current (initial) ones, so a second call
    sets the same weights.
    Raises ``ValueError`` when the two differ in anything but widths, or when new channels
    would not start at 0 or not learn (an activation with act(0) ≠ 0 or act'(0) = 0, e.g. ReLU).
    """
    names = lambda g: [b.name for b in g.branches["structure"] + g.branches["content"]
                       + g.decoder_blocks] + [g.output_block.name]
    if names(old) != names(new) or (old.attention is None) != (new.attention is None):
        raise ValueError("the generators differ in more than their widths (blocks: "
                         f"{len(names(old))} and {len(names(new))}; attention: "
                         f"{old.attention is not None} and {new.attention is not None})")
    if new.count_params() > old.count_params():
        act = tf.keras.activations.get(new.config.model.activation)
        zero = tf.constant(0.0)
        with tf.GradientTape() as tape:
            tape.watch(zero)
            y = act(zero)
        if float(y) != 0.0 or float(tape.gradient(y, zero)) == 0.0:
            raise ValueError(f"activation {new.config.model.activation!r}: widening needs "
                             "act(0) = 0 (new channels start at 0) and act'(0) != 0 (they learn)")
    guide = np.arange(old.guidance.channels)
    ends, done = [], 0
    for branch in ("structure", "content"):
        img, grad = np.arange(3), guide
        for o, n in zip(old.branches[branch], new.branches[branch]):
            img, grad, k = _widen_block(o, n, img, grad)
            done += k
        ends.append((img, grad, o.image_filters, o.gradient_filters))
    (s_img, s_grad, s_ci, s_cg), (c_img, c_grad, _, _) = ends
    img = np.concatenate([s_img, _shift(c_img, s_ci)])
    grad = np.concatenate([s_grad, _shift(c_grad, s_cg)])
    for o, n in zip(old.decoder_blocks + [old.output_block], new.decoder_blocks + [new.output_block]):
        img, grad, k = _widen_block(o, n, img, grad)
        done += k
    if done != len(new.trainable_variables):
        raise ValueError(f"widened {done} of the generator's {len(new.trainable_variables)} "
                         "variables: the generator has layers this function does not know")


def resolve(init_from: str):
    """``(run folder, checkpoint prefix)`` of ``init_from``: a run folder (its latest checkpoint)
    or a checkpoint prefix in a run's ``checkpoints/``. Errors name the path."""
    if os.path.isdir(init_from):
        run, checkpoint = RunDir(init_from), None
    else:
        folder = os.path.dirname(os.path.abspath(init_from))
        if os.path.basename(folder) != CHECKPOINT_SUBDIR:
            raise FileNotFoundError(f"--init_from={init_from}: neither a run folder nor a "
                                    f"checkpoint in a run's {CHECKPOINT_SUBDIR}/")
        run, checkpoint = RunDir(os.path.dirname(folder)), init_from
    try:
        return run, run.latest_checkpoint(checkpoint)
    except FileNotFoundError:
        raise FileNotFoundError(f"--init_from={init_from}: no checkpoint there (looked in "
                                f"{run.checkpoint_dir})") from None


def differing_fields(old, new) -> list:
    """``config.model`` fields in which ``new`` may not start from ``old``: any change but a
    growth of ``image_channels`` or ``gradient_channels``."""
    a, b = (json.loads(json.dumps(dataclasses.asdict(c.model))) for c in (old, new))
    return [f"{k} ({a[k]} -> {b[k]})" for k in a if a[k] != b[k]
            and not (k in ("image_channels", "gradient_channels") and b[k] > a[k])]


def warm_start(trainer, init_from: str) -> str:
    """Sets a built trainer's generator (widened if wider) and discriminators from ``init_from``
    (see :func:`resolve`); returns the checkpoint prefix read."""
    from gain_tf.inference import load_generator
    run, path = resolve(init_from)
    old_config = run.read_config()
    changed = differing_fields(old_config, trainer.config)
    if changed:
        raise ValueError(f"--init_from={init_from}: its model config differs from this run's in "
                         f"{', '.join(changed)}; only image_channels and gradient_channels may "
                         "change, and only grow")
    # The discriminators' fields match (checked above), so they restore into the trainer's own.
    discriminators = trainer.discriminator_slots()
    try:
        old = load_generator(run.path, path)
        with trainer.strategy.scope():
            widen_generator(old, trainer.generator)
        tf.train.Checkpoint(**discriminators).restore(path).expect_partial() \
            .assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        msg = " ".join(str(e).split())[:300]
        raise ValueError(f"--init_from={init_from}: cannot start from {path}: {msg}") from None
    logging.info("warm start from %s: generator %s -> %s channels (image/gradient), "
                 "discriminators copied", path,
                 f"{old_config.model.image_channels}/{old_config.model.gradient_channels}",
                 f"{trainer.config.model.image_channels}/{trainer.config.model.gradient_channels}")
    return path
