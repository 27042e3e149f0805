"""Session set-up shared by all tests: two logical CPU devices, so tf.distribute tests can run.

Must happen before TensorFlow initialises its devices, hence at import time of this conftest
(pytest imports it before any test module). If devices are already initialised it does nothing.
``gain_tf`` is imported first: on TensorFlow >= 2.16 it selects tf-keras (TF_USE_LEGACY_KERAS=1)
before anything can touch ``tf.keras`` (docs/stacks.md).
"""
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


_two_logical_cpus()

# Grappler's graph optimisations take longer than the tiny graphs of the tests run (seconds per
# traced train step); they change no result beyond round-off, so the test session skips them.
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
