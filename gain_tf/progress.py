"""A small text progress line with rate and ETA, without a tqdm dependency.

    progress = Progress(total=len(files), desc="train")
    for f in files:
        ...
        progress.update(1, skipped=n_skipped)
    progress.close()

prints (to stderr by default, at most every ``min_interval`` seconds, and on ``close`` the final
line unless it is already the last one printed)::

    train  1200/28000  350.2/s  ETA 01:16  skipped=3

On a terminal the line is redrawn in place (``\\r``); in a log file each report is its own line.
``total`` may be ``None`` (unknown): the ETA is then ``--:--``. Messages printed while it runs go
through :meth:`Progress.write`, so that they do not land inside the redrawn line. Used by the
TFRecord builders, the training loop, evaluation and the inpaint CLI's folder mode.
"""
from __future__ import annotations

import sys
import time


def format_duration(seconds: float | None) -> str:
    """``mm:ss`` (minutes unbounded, e.g. ``125:03``), or ``--:--`` when unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf") or seconds < 0:
        return "--:--"
    s = int(round(seconds))
    return f"{s // 60:02d}:{s % 60:02d}"


class Progress:
    """``desc  n/total  rate/s  ETA mm:ss  key=value ...``, printed at most every ``min_interval`` s."""

    def __init__(self, total: int | None, desc: str = "", stream=None, min_interval: float = 0.5,
                 clock=time.monotonic, initial: int = 0):
        self.total = None if total is None else int(total)
        self.desc = desc
        self.n = int(initial)  # items already done before this run (e.g. resumed): not in the rate
        self._initial = int(initial)
        self.postfix: dict = {}
        self._stream = stream if stream is not None else sys.stderr
        self._min_interval = float(min_interval)
        self._clock = clock
        self._start = clock()
        self._last_print: float | None = None
        self._last_shown = None   # (count, total, postfix) of the last line printed
        self._closed = False
        self._inplace = bool(getattr(self._stream, "isatty", lambda: False)())
        self._last_len = 0

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    @property
    def rate(self) -> float:
        """Items per second since the start, not counting ``initial`` (0 before the first item)."""
        el, done = self.elapsed, self.n - self._initial
        return done / el if el > 0 and done > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds left at the average rate so far; ``None`` when unknown."""
        if self.total is None:
            return None
        left = max(self.total - self.n, 0)
        if left == 0:
            return 0.0
        r = self.rate
        return left / r if r > 0 else None

    def line(self) -> str:
        total = "?" if self.total is None else str(self.total)
        parts = [self.desc] if self.desc else []
        parts += [f"{self.n}/{total}", f"{self.rate:.1f}/s", f"ETA {format_duration(self.eta())}"]
        parts += [f"{k}={v}" for k, v in self.postfix.items()]
        return "  ".join(parts)

    def update(self, n: int = 1, **postfix) -> None:
        """Adds ``n`` done items; ``postfix`` key/values are shown after the ETA (and kept)."""
        self.n += int(n)
        self.postfix.update(postfix)
        now = self._clock()
        if self._last_print is None or now - self._last_print >= self._min_interval:
            self._print(now)

    def _shown(self) -> tuple:
        return self.n, self.total, tuple(self.postfix.items())

    def _print(self, now: float, final: bool = False) -> None:
        self._last_print = now
        text, shown = self.line(), self._shown()
        try:
            if self._inplace:
                pad = " " * max(self._last_len - len(text), 0)
                self._stream.write("\r" + text + pad + ("\n" if final else ""))
            else:
                self._stream.write(text + "\n")
            self._stream.flush()
        except (ValueError, OSError):  # closed stream: progress is never worth a crash
            return
        self._last_len, self._last_shown = len(text), shown

    def write(self, text: str) -> None:
        """Prints ``text`` as a line of its own, without breaking the progress line: on a terminal
        the line is cleared first and redrawn after (as ``tqdm.write`` does)."""
        try:
            if self._inplace and self._last_len and not self._closed:
                self._stream.write("\r" + " " * self._last_len + "\r" + text + "\n")
                self._print(self._clock())
            else:
                self._stream.write(text + "\n")
                self._stream.flush()
        except (ValueError, OSError):
            pass

    def close(self) -> None:
        """Prints the final line once (in a log file only if it differs from the last line printed
        in count, total or postfix: no repeated last line); further calls do nothing."""
        if self._closed:
            return
        self._closed = True
        if self._inplace or self._last_shown != self._shown():
            self._print(self._clock(), final=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
