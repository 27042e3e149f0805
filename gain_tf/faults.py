"""A test hook that holds a process at a named point, so that a test can SIGKILL it exactly there.

``GAIN_TF_TEST_HOLD=<point>:<n>:<path>`` makes :func:`hold` create ``path`` and sleep when it is
reached with that point and number. The points: ``step`` (after training step n), ``save`` (inside
the save of checkpoint n: its files written, the ``checkpoint`` state file not yet updated) and
``record-<shard file name>`` (a TFRecord builder about to write image n of that shard). Unset, it
does nothing.
"""
from __future__ import annotations

import os
import time

HOLD_ENV = "GAIN_TF_TEST_HOLD"


def hold(point: str, n: int) -> None:
    spec = os.environ.get(HOLD_ENV)
    if spec and spec.startswith(f"{point}:{n}:"):
        with open(spec.split(":", 2)[2], "a"):
            pass
        time.sleep(600)
