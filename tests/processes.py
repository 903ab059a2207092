"""Starting and stopping the real processes tests run (gunicorn, Celery workers, the supervisor)."""

import subprocess
import time

import pytest


def stop_process(process, *, grace=15):
    """SIGTERM (a warm shutdown), then SIGKILL when it has not exited within ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def wait_for(predicate, *, timeout, what, process=None, output=None):
    """Poll ``predicate`` until it holds; fail the test when ``process`` exits first (with
    the tail of ``output``, a callable returning its log) or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            pytest.fail(
                f"the process exited (code {process.returncode}) before {what}:\n{output()[-3000:] if output else ''}"
            )
        if predicate():
            return
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
