"""Child processes for the multi-process tests: started in their own process group, with output
to files (no pipe can fill up), bounded in time, and always reaped (SIGKILL to the whole group)."""
import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 300


def base_env(**extra):
    """This environment, with the repository importable, no GPU and TensorFlow's C++ logs quiet."""
    return dict(os.environ, PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2",
                **extra)


def _sigint_default():
    """A shell without job control (CI, ``nohup … &``) starts its background commands with SIGINT
    ignored, and Python then never turns SIGINT into KeyboardInterrupt: a child gets it back, so
    a test can send it Ctrl-C wherever the suite runs."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Child:
    """One child process: ``python -m <module> <args>`` (or any command list)."""

    def __init__(self, cmd, env, log_prefix):
        if isinstance(cmd, str):
            cmd = [sys.executable, "-m", cmd]
        self.out = open(f"{log_prefix}.out", "w+")
        self.err = open(f"{log_prefix}.err", "w+")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.out, stderr=self.err, cwd=REPO,
                                     start_new_session=True, preexec_fn=_sigint_default)
        self.pid = self.proc.pid

    def wait(self, timeout=TIMEOUT):
        """Waits for the exit (killing the group at ``timeout``); returns (code, stdout, stderr)."""
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.kill()
        self.out.seek(0), self.err.seek(0)
        result = self.proc.returncode, self.out.read(), self.err.read()
        self.out.close(), self.err.close()
        return result

    def wait_for_file(self, path, timeout=TIMEOUT):
        """Waits until ``path`` exists (the child reached a test hold point)."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if self.proc.poll() is not None:
                self.err.seek(0)
                raise AssertionError(f"exited ({self.proc.returncode}) before {path}: "
                                     f"{self.err.read()[-3000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{path} did not appear within {timeout} s")
            time.sleep(0.1)

    def kill(self):
        """SIGKILL to the child's whole process group (its pool workers included), then reap."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def run_all(children, timeout=TIMEOUT):
    """Waits for every child (all are killed at ``timeout``); returns their (code, out, err)."""
    deadline = time.monotonic() + timeout
    try:
        return [c.wait(max(1.0, deadline - time.monotonic())) for c in children]
    finally:
        for c in children:
            c.kill()
