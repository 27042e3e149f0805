"""RunDir: the layout of a training run's folder (config, checkpoints, logs, done marker), in one place.

::

    <run>/config.json        the run's GAINConfig (nested; gain-tf 0.1's flat form still reads)
    <run>/checkpoints/       ckpt-<step>.index / .data-*, written by the trainer
    <run>/train/             TensorBoard logs
    <run>/done.json          written when a run finished (the ablation and the demo reuse it)

Errors name the path that is missing or wrong.
"""
from __future__ import annotations

import json
import os
from typing import Optional

from gain_tf.config import GAINConfig
from gain_tf.images import atomic_write_bytes

CONFIG_FILE = "config.json"
CHECKPOINT_SUBDIR = "checkpoints"
LOG_SUBDIR = "train"
DONE_FILE = "done.json"


class RunDir:
    """A training run's folder: ``RunDir("runs/x").config_path`` etc."""

    def __init__(self, path: str):
        self.path = str(path)
        self.config_path = os.path.join(self.path, CONFIG_FILE)
        self.checkpoint_dir = os.path.join(self.path, CHECKPOINT_SUBDIR)
        self.log_dir = os.path.join(self.path, LOG_SUBDIR)
        self.done_path = os.path.join(self.path, DONE_FILE)

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
                    "so outputs differ from 0.1's: fine-tune before comparing (README, 'Layout')",
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

    def move_aside_if_changed(self, config: GAINConfig) -> Optional[str]:
        """Moves a run of other settings to ``<path>-<time>`` (kept, never overwritten) and
        returns where, so that ``config`` trains anew here; None when the run is absent or fits."""
        import time
        changed = self.changed_fields(config)
        if not changed:
            return None
        aside = f"{self.path}-{time.strftime('%Y%m%d-%H%M%S')}"
        os.rename(self.path, aside)
        return f"{self.path} held a run of other settings ({', '.join(changed)}): moved to {aside}"

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
        return os.path.exists(self.done_path)

    def mark_done(self, info: dict) -> None:
        atomic_write_bytes(self.done_path, json.dumps(info).encode())
