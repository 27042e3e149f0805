"""Thin wrappers that keep third-party libraries behind one small module each."""
