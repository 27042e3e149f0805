"""gain_tf.progress: the line's rate, ETA and throttle, and messages written beside it."""
import io

from gain_tf.progress import Progress, format_duration


def test_progress_line_rate_eta_and_throttle():
    now = [0.0]
    out = io.StringIO()
    p = Progress(100, "build", stream=out, clock=lambda: now[0])
    p.update(0)
    now[0] = 0.2
    p.update(10)            # < 0.5 s since the last line: not printed
    now[0] = 1.0
    p.update(10, skipped=1)
    p.close()                   # the last line printed already has this count: not repeated
    p.close()
    lines = out.getvalue().splitlines()
    assert lines == ["build  0/100  0.0/s  ETA --:--", "build  20/100  20.0/s  ETA 00:04  skipped=1"]
    now[0] = 1.1
    q = Progress(100, "build", stream=out, clock=lambda: now[0], initial=40)   # resumed at 40
    now[0] = 2.1
    q.update(5)
    now[0] = 2.2
    q.update(5)                 # throttled; close prints it
    q.close()
    assert out.getvalue().splitlines()[2:] == ["build  45/100  5.0/s  ETA 00:11",
                                               "build  50/100  9.1/s  ETA 00:06"]
    assert format_duration(7384) == "123:04" and format_duration(None) == "--:--"
    assert Progress(None, stream=io.StringIO()).eta() is None


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_write_on_a_terminal_clears_the_line_and_redraws_it():
    now = [0.0]
    out = _Terminal()
    p = Progress(4, "inpaint", stream=out, clock=lambda: now[0])
    now[0] = 1.0
    p.update(1)
    p.write("error: b.png: no such file")
    now[0] = 2.0
    p.update(1)
    p.close()
    line1, line2 = "inpaint  1/4  1.0/s  ETA 00:03", "inpaint  2/4  1.0/s  ETA 00:02"
    blank = "\r" + " " * len(line1) + "\r"
    assert out.getvalue() == ("\r" + line1 + blank + "error: b.png: no such file\n" + "\r" + line1
                              + "\r" + line2 + "\r" + line2 + "\n")
    # In a log file (no terminal) each is a line of its own.
    log = io.StringIO()
    q = Progress(4, "inpaint", stream=log, clock=lambda: 1.0)
    q.update(1)
    q.write("warning: x")
    assert log.getvalue().splitlines() == ["inpaint  1/4  0.0/s  ETA --:--", "warning: x"]
