"""`make bench`: run every benchmark script in bench/ and print their figures as one table.

Each script runs as its own subprocess (a crash or a hang in one cannot hide the others)
with a bounded timeout, and prints its figures as lines of the form::

    name: value unit

for example ``ping endpoint p50: 3.2 ms`` or ``baseline loopback GET p50: 0.4 ms``. Every
other line is ignored. A script that exits non-zero, times out or prints no figure is
shown as failed, with the last line of its error output, and makes this command exit 1.

Usage: ``python bench/run_all.py [--timeout SECONDS] [--dir FOLDER] [script.py ...]``
"""

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT_DIR = HERE.parent
DEFAULT_TIMEOUT = float(os.environ.get("PHAROS_BENCH_TIMEOUT", "300"))
# Scripts that run the whole system several times get longer (they bound themselves).
LONGER_TIMEOUTS = {"isolation.py": 900.0}

# "name: value unit" — the name may hold spaces and punctuation; the unit is optional.
FIGURE = re.compile(
    r"^\s*(?P<name>[^:#][^:]*?)\s*:\s*(?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>\S*)\s*$"
)


@dataclass
class Run:
    script: str
    status: str = "ok"  # ok, failed, timeout
    reason: str = ""
    seconds: float = 0.0
    figures: list = field(default_factory=list)  # (name, value, unit)


def parse_figures(text):
    figures = []
    for line in text.splitlines():
        match = FIGURE.match(line)
        if match:
            figures.append((match["name"], match["value"], match["unit"]))
    return figures


def discover(folder):
    """Every bench script in ``folder`` except this runner and private helpers (``_*.py``)."""
    return sorted(
        path for path in Path(folder).glob("*.py") if path.name != Path(__file__).name and not path.name.startswith("_")
    )


def last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def run_script(path, *, timeout):
    run = Run(script=path.name)
    started = time.monotonic()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])))
    try:
        # Its own session, so a timeout kills the script and whatever servers it started.
        process = subprocess.Popen(
            [sys.executable, str(path)],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_session(process)
            stdout, stderr = process.communicate()
            run.status, run.reason = "timeout", f"no answer within {timeout:.0f} s"
            run.figures = parse_figures(stdout)
            return run
    finally:
        run.seconds = time.monotonic() - started
    run.figures = parse_figures(stdout)
    if process.returncode != 0:
        run.status = "failed"
        run.reason = f"exit {process.returncode}: {last_line(stderr) or last_line(stdout)}"
    elif not run.figures:
        run.status = "failed"
        run.reason = "printed no 'name: value unit' line"
        if last_line(stdout):
            run.reason += f" (last line: {last_line(stdout)})"
    return run


def _kill_session(process):
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def table(runs):
    """One table: script, figure, value, unit; failed scripts get a row saying why."""
    rows = [("script", "figure", "value", "unit")]
    for run in runs:
        for name, value, unit in run.figures:
            rows.append((run.script, name, value, unit))
        if run.status != "ok":
            rows.append((run.script, f"{run.status.upper()}: {run.reason}", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(
                [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3].ljust(widths[3])]
            ).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per script")
    parser.add_argument("--dir", default=str(HERE), help="folder of bench scripts")
    parser.add_argument("scripts", nargs="*", help="run only these scripts")
    options = parser.parse_args(argv)
    scripts = [Path(s).resolve() for s in options.scripts] or discover(options.dir)
    if not scripts:
        print(f"no bench scripts in {options.dir}")
        return 1
    runs = []
    for path in scripts:
        print(f"running {path.name} …", file=sys.stderr, flush=True)
        run = run_script(path, timeout=max(options.timeout, LONGER_TIMEOUTS.get(path.name, 0.0)))
        print(f"  {run.status} in {run.seconds:.1f} s", file=sys.stderr, flush=True)
        runs.append(run)
    print(table(runs))
    failed = [run.script for run in runs if run.status != "ok"]
    if failed:
        print(f"\n{len(failed)} of {len(runs)} scripts failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
