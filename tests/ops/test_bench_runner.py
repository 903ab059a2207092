"""`make bench` runs every bench script and shows one table; failures are shown, not hidden."""

import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "bench" / "run_all.py"


def write(folder, name, body):
    (folder / name).write_text(body)


def run_all(folder, *args):
    return subprocess.run(
        [sys.executable, str(RUNNER), "--dir", str(folder), *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def bench_dir(tmp_path):
    write(tmp_path, "ping.py", "print('starting servers')\nprint('ping p50: 3.25 ms')\nprint('baseline p50: 0.5 ms')\n")
    write(tmp_path, "tick.py", "print('tick with 1000 monitors: 41 ms')\nprint('monitors per second: 24390')\n")
    return tmp_path


def test_every_script_figure_appears_in_one_table(bench_dir):
    done = run_all(bench_dir)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert ["ping.py", "ping", "p50", "3.25", "ms"] in rows
    assert ["ping.py", "baseline", "p50", "0.5", "ms"] in rows
    assert ["tick.py", "monitors", "per", "second", "24390"] in rows
    assert "starting servers" not in done.stdout


def test_a_failing_script_is_shown_as_failed_and_fails_the_run(bench_dir):
    write(bench_dir, "broken.py", "print('half: 1 ms')\nraise SystemExit('database unreachable')\n")
    done = run_all(bench_dir)
    assert done.returncode == 1
    assert "FAILED: exit 1: database unreachable" in done.stdout
    assert "ping p50" in done.stdout


def test_a_hanging_script_is_stopped_at_the_timeout(bench_dir):
    write(bench_dir, "hang.py", "import time\nprint('before: 1 s', flush=True)\ntime.sleep(600)\n")
    done = run_all(bench_dir, "--timeout", "2")
    assert done.returncode == 1
    assert "TIMEOUT: no answer within 2 s" in done.stdout


def test_a_script_that_prints_no_figure_is_a_failure(bench_dir):
    write(bench_dir, "quiet.py", "print('all good')\n")
    done = run_all(bench_dir)
    assert "FAILED: printed no 'name: value unit' line (last line: all good)" in done.stdout


def test_private_helpers_are_not_run_as_benchmarks(bench_dir):
    write(bench_dir, "_servers.py", "raise SystemExit('should not run')\n")
    assert run_all(bench_dir).returncode == 0
