"""Distribution strategies for training: which strategy, and which process of a cluster writes.

``make_strategy`` turns ``--strategy`` into a ``tf.distribute.Strategy``; ``worker_role`` says
whether this process is the chief (only the chief of a cluster writes the run folder;
docs/scale.md, "Several machines").
"""
from __future__ import annotations

import json
import os
from typing import Optional

import tensorflow as tf


def make_strategy(name: str = "default", collective_timeout: Optional[float] = None
                  ) -> tf.distribute.Strategy:
    """``default`` (one device), ``mirrored`` (all local devices; logical CPUs included) or
    ``multiworker`` (MultiWorkerMirroredStrategy, cluster from ``TF_CONFIG``).

    ``collective_timeout`` (seconds, multiworker only) makes a collective that waits longer for a
    peer fail instead of hanging (a worker that died). Raises ``ValueError`` (one line naming
    ``TF_CONFIG``) when ``TF_CONFIG`` is set but is not a JSON object."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        raw = os.environ.get("TF_CONFIG")
        if raw is not None and raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError as e:
                raise ValueError(f"TF_CONFIG is not valid JSON ({e}); --strategy=multiworker reads "
                                 "the cluster from it") from None
            if not isinstance(parsed, dict):
                raise ValueError("TF_CONFIG is not a JSON object; --strategy=multiworker reads the "
                                 "cluster from it")
        options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=collective_timeout or None)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    raise ValueError(f"--strategy must be default, mirrored or multiworker, got {name!r}")


def worker_role(strategy: tf.distribute.Strategy) -> tuple:
    """``(is_chief, task)`` of this process: ``(True, None)`` outside a multi-worker cluster;
    else the chief is task ``chief``, or ``worker`` 0 when the cluster has no chief."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if not task_type:
        return True, None
    task = f"{task_type}:{resolver.task_id}"
    if task_type == "chief":
        return True, task
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and resolver.task_id == 0 and not has_chief, task
