"""prometheus_client's multiprocess mode under gunicorn (config/gunicorn.conf.py calls these).

Each worker writes its counts to a file in ``PROMETHEUS_MULTIPROC_DIR``; the scrape sums
the files of all workers. prometheus_client picks the mode once, when it is first imported,
from that variable, so this module imports it only inside the functions: the gunicorn
master must set the variable before anything imports prometheus_client.
"""

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PROJECT_DIR = Path(__file__).resolve().parents[1]


def choose_multiprocess_dir(environ: "os._Environ[str]" = os.environ) -> str:
    """The directory the workers count into: the variable when set (containers and systemd
    point it at a writable place), else var/prometheus in the project."""
    return environ.setdefault(MULTIPROC_ENV, str(PROJECT_DIR / "var" / "prometheus"))


def prepare_multiprocess_dir(path: str | os.PathLike[str]) -> None:
    """Empty (or create) the directory. Run once by the gunicorn master before any worker
    starts: files left by a previous run belong to processes that no longer exist, and their
    counts would be added to this run's."""
    directory = Path(path)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    log.info("metrics: web workers count into %s", directory)


def worker_exited(pid: int) -> None:
    """gunicorn's ``child_exit``: a dead worker's live gauges stop counting (its counters
    stay, summed with the others')."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client.multiprocess import mark_process_dead

        mark_process_dead(pid)
