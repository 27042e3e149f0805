"""Session set-up shared by all tests: two logical CPU devices, so tf.distribute tests can run, and
under pytest-xdist each worker's share of the cores as its TensorFlow thread pools (docs/speed.md).

Must happen before TensorFlow initialises its devices, hence at import time of this conftest
(pytest imports it before any test module). If devices are already initialised it does nothing.
``gain_tf`` is imported first: on TensorFlow >= 2.16 it selects tf-keras (TF_USE_LEGACY_KERAS=1)
before anything can touch ``tf.keras`` (docs/stacks.md); ``experiments`` before it, so that the
test session's own TensorFlow import is as quiet as a command's.
"""
import os

import experiments  # noqa: F401  (before TensorFlow: its start-up lines quieted as in a command)
import gain_tf  # noqa: F401  (before TensorFlow: picks tf.keras on the modern stack)
import tensorflow as tf


def _two_logical_cpus() -> None:
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        if len(tf.config.get_logical_device_configuration(cpu) or []) < 2:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    except RuntimeError:  # TensorFlow's devices were initialised already
        pass


def _worker_threads() -> None:
    """Under ``pytest -n N`` each worker gets cores // N threads inside an op and as many ops side
    by side, instead of TensorFlow's default of every core for both pools in every worker; one
    process (``-n 0``) keeps the defaults. Subprocesses the tests start are not affected."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        threads = max(1, (cores or 1) // workers)
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


_two_logical_cpus()
_worker_threads()

# Grappler's graph optimisations take longer than the tiny graphs of the tests run (seconds per
# traced train step); they change no result beyond round-off, so the test session skips them.
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def pytest_collection_modifyitems(config, items):
    """Files with a ``slow`` test first, the rest in their usual order. ``make test-all`` hands
    whole files to two workers (``--dist loadfile``) in this order; the longest files last (the
    multi-worker and kill-resume tests are collected at the end) left one worker running them
    alone while the other sat idle."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)   # stable: False sorts first
