"""Starting and stopping the real processes tests run (gunicorn, Celery workers, the supervisor)."""

import os
import signal
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


def stop_process_groups(processes, *, grace=15):
    """Warm-stop processes started with ``start_new_session=True``, children included: SIGTERM
    to every group first (so they shut down side by side), then SIGKILL to a group whose
    leader has not exited within ``grace`` seconds."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
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
