"""Thin wrappers that keep third-party libraries behind one small module each."""
import importlib
import warnings


def optional_import(name: str):
    """The module ``name``, or None where it is not installed or fails to import.

    tensorflow-addons and tensorflow-gan import on TensorFlow 2.15 only: on 2.16+ they raise
    ImportError or AttributeError (``keras.src.engine``, ``tf.estimator`` gone). Their import
    warnings are silenced.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except (ImportError, AttributeError):
        return None
