"""RunDir: a training run's folder (config, checkpoints, logs, done marker) and its lifecycle.

::

    <run>/config.json        the run's GAINConfig (nested; gain-tf 0.1's flat form still reads)
    <run>/checkpoints/       ckpt-<step>.index / .data-*, written by the trainer
    <run>/train/             TensorBoard logs
    <run>/done.json          written by the trainer when the run reached its config's steps
    <run>/init_from.json     a warm-started run's source (``--init_from`` and the checkpoint read)

:meth:`RunDir.plan` is the one decision a tool takes before training into a folder (the demo and
the ablation): reuse a finished run, resume an unfinished one, or move a run of other settings
aside. Errors name the path that is missing or wrong.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Optional

from gain_tf.config import GAINConfig
from gain_tf.images import atomic_write_bytes

CONFIG_FILE = "config.json"
CHECKPOINT_SUBDIR = "checkpoints"
LOG_SUBDIR = "train"
DONE_FILE = "done.json"
INIT_FROM_FILE = "init_from.json"


@dataclasses.dataclass(frozen=True)
class Plan:
    """What :meth:`RunDir.plan` decided. ``action``: ``"reuse"`` (finished: load it, train
    nothing), ``"resume"`` (unfinished, same settings: continue from its latest checkpoint),
    ``"new"`` (nothing there, or a run of other settings was moved to ``moved_to``).
    ``config`` is the one to train or load; ``note`` a line for the user (empty for a plain new run).
    """

    action: str
    config: GAINConfig
    note: str = ""
    moved_to: Optional[str] = None


class RunDir:
    """A training run's folder: ``RunDir("runs/x").config_path`` etc."""

    def __init__(self, path: str):
        self.path = str(path)
        self.config_path = os.path.join(self.path, CONFIG_FILE)
        self.checkpoint_dir = os.path.join(self.path, CHECKPOINT_SUBDIR)
        self.log_dir = os.path.join(self.path, LOG_SUBDIR)
        self.done_path = os.path.join(self.path, DONE_FILE)
        self.init_from_path = os.path.join(self.path, INIT_FROM_FILE)

    def __repr__(self):
        return f"RunDir({self.path!r})"

    # ------------------------------------------------------------------ config
    def read_config(self) -> GAINConfig:
        """The run's :class:`GAINConfig`; errors name the missing or invalid file. A gain-tf 0.1
        run (flat ``config.json``) logs a warning: its weights now run a model that differs."""
        if not os.path.isdir(self.path):
            raise FileNotFoundError(f"{self.path}: model directory not found")
        try:
            with open(self.config_path) as f:
                text = f.read()
            config = GAINConfig.from_json(text)
            if '"model"' not in text:
                from absl import logging
                logging.warning(
                    "%s was written by gain-tf 0.1: its weights were trained with an attention that "
                    "received an all-valid mask (it changed nothing) and an earlier priority; here "
                    "attention acts on the input hole (mode 'exact') and the priority is corrected, "
                    "so outputs differ from 0.1's: fine-tune before comparing (docs/training.md, 'Run folders of gain-tf 0.1')",
                    self.config_path)
            return config
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.config_path}: missing (not a training run folder?)") from None
        except (ValueError, TypeError, KeyError) as e:
            raise ValueError(f"{self.config_path}: not a valid GAINConfig "
                             f"({type(e).__name__}: {e})") from None

    def write_config(self, config: GAINConfig, overwrite: bool = False) -> None:
        """Writes ``config.json`` (atomically) unless the run has one already (or ``overwrite``)."""
        if overwrite or not os.path.exists(self.config_path):
            os.makedirs(self.path, exist_ok=True)
            atomic_write_bytes(self.config_path, config.to_json().encode())

    def changed_fields(self, config: GAINConfig) -> list:
        """Sorted leaf names whose value in ``config`` differs from the run's ``config.json``
        (empty when they agree or there is no ``config.json`` yet)."""
        if not os.path.exists(self.config_path):
            return []
        old, new = self.read_config().flat(), config.flat()
        return sorted(k for k in new if old.get(k) != new[k])

    def plan(self, config: GAINConfig, free: tuple = ()) -> Plan:
        """Reuse, resume or move aside: what to do with this folder before training ``config``.

        Fields named in ``free`` (e.g. ``("steps",)`` for the timed demo, which fits its step
        count to the machine) may differ: the run's own values are kept. A run whose other fields
        differ is moved to ``<path>-<time>`` (kept, never overwritten) and ``config`` trains anew.
        """
        import time
        if not os.path.exists(self.config_path):
            return Plan("new", config)
        changed = self.changed_fields(config)
        if set(changed) - set(free):
            aside = stamp = f"{self.path}-{time.strftime('%Y%m%d-%H%M%S')}"
            n = 1
            while os.path.exists(aside):   # moved aside before within the same second
                aside, n = f"{stamp}-{n}", n + 1
            os.rename(self.path, aside)
            return Plan("new", config, f"{self.path} held a run of other settings "
                        f"({', '.join(changed)}): moved to {aside}", moved_to=aside)
        own = self.read_config() if changed else config
        steps = own.optim.steps
        if self.is_done():
            return Plan("reuse", own, f"{self.path}: finished earlier ({steps} steps), reused")
        return Plan("resume", own, f"{self.path}: unfinished run of {steps} steps, resumed")

    # ------------------------------------------------------------------ checkpoints
    def latest_checkpoint(self, checkpoint: Optional[str] = None) -> str:
        """The checkpoint prefix to restore: ``checkpoint`` (a prefix or a folder) or the latest in
        ``checkpoints/``. Raises ``FileNotFoundError`` naming the path when there is none."""
        import tensorflow as tf
        if checkpoint:
            if os.path.isdir(checkpoint):
                found = tf.train.latest_checkpoint(checkpoint)
                if not found:
                    raise FileNotFoundError(f"{checkpoint}: no checkpoint found in this directory")
                return found
            if not os.path.isfile(checkpoint + ".index"):
                raise FileNotFoundError(f"{checkpoint}: no such checkpoint (no {checkpoint}.index)")
            return checkpoint
        found = (tf.train.latest_checkpoint(self.checkpoint_dir)
                 if os.path.isdir(self.checkpoint_dir) else None)
        if not found:
            raise FileNotFoundError(f"{self.checkpoint_dir}: no checkpoint found (train the model "
                                    "first, or pass --checkpoint)")
        return found

    def remove_partial_checkpoints(self) -> list:
        """Removes what a killed save leaves in ``checkpoints/`` and returns the names removed.

        The ``checkpoint`` state file is the commit point of a save: TensorFlow writes
        ``ckpt-N_temp/`` (the shards), merges them into ``ckpt-N.index`` / ``ckpt-N.data-*``, and
        only then rewrites the state file (through a ``checkpoint.tmp*`` file). So ``*_temp``
        folders, ``checkpoint.tmp*`` files and every ``ckpt-N.*`` the state file does not list are
        partial or orphaned, and go; the checkpoints it lists, and other files, are left alone.
        """
        import re
        import shutil

        import tensorflow as tf
        folder = self.checkpoint_dir
        if not os.path.isdir(folder):
            return []
        state = tf.train.get_checkpoint_state(folder)
        listed = {os.path.basename(p) for p in (state.all_model_checkpoint_paths if state else [])}
        if state and state.model_checkpoint_path:
            listed.add(os.path.basename(state.model_checkpoint_path))
        removed = []
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            prefix = name.split(".", 1)[0]
            partial = name.endswith("_temp") or name.startswith("checkpoint.tmp")
            orphan = re.fullmatch(r"ckpt-\d+", prefix) is not None and prefix not in listed
            if partial or orphan:
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
                removed.append(name)
        return removed

    # ------------------------------------------------------------------ done marker
    def is_done(self) -> bool:
        """Whether the trainer wrote ``done.json`` (the run reached its config's steps)."""
        return os.path.exists(self.done_path)

    def mark_done(self, info: dict) -> None:
        """Writes ``done.json`` (atomically); the trainer calls it at the end of the schedule."""
        atomic_write_bytes(self.done_path, json.dumps(info).encode())

    def clear_done(self) -> None:
        """Removes ``done.json``: the run trains again (its steps were raised)."""
        if os.path.exists(self.done_path):
            os.remove(self.done_path)

    # ------------------------------------------------------------------ warm start
    def record_init_from(self, init_from: str, checkpoint: str) -> None:
        """Writes ``init_from.json`` (atomically): the run was warm-started from ``checkpoint``
        (``init_from`` as given); its config.json alone would not say so."""
        atomic_write_bytes(self.init_from_path, json.dumps(
            {"init_from": init_from, "checkpoint": os.path.abspath(checkpoint)}).encode())
