"""Broker settings shared by the Django project and the Django-free region worker.

Only the standard library here: a region worker imports this without Django.
"""

import os
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent


class BrokerConfigError(ValueError):
    pass


def embedded_broker_folder() -> Path:
    return Path(os.environ.get("PHAROS_BROKER_DIR") or PROJECT_DIR / "var" / "broker")


def broker_settings() -> dict[str, Any]:
    """Celery broker options: Redis when REDIS_URL is set, else an on-disk broker.

    The filesystem transport needs no server, so the quick start runs on a machine with
    only Python. Several processes may share it: kombu locks each message file.
    """
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            # Only the scheme in the message: the rest of the URL may hold the password.
            raise BrokerConfigError(
                f"REDIS_URL must start with redis://, rediss:// or unix://, got {url.split('://', 1)[0]!r}://…"
            )
        return {
            "broker_url": url,
            "broker_transport_options": {
                # A probe batch carries its own expiry; the visibility timeout only has to
                # outlast the longest task so Redis does not redeliver work still running.
                "visibility_timeout": 3600,
            },
            "broker_connection_retry_on_startup": True,
        }
    folder = embedded_broker_folder()
    (folder / "out").mkdir(parents=True, exist_ok=True)
    (folder / "processed").mkdir(parents=True, exist_ok=True)
    (folder / "control").mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(folder / "out"),
            "data_folder_out": str(folder / "out"),
            "processed_folder": str(folder / "processed"),
            # Broadcast (pidbox) exchanges; kombu's default is ./control in the working directory.
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
        "broker_connection_retry_on_startup": True,
    }


def probe_queue(region: str) -> str:
    return f"probe.{region}"


RESULTS_QUEUE = "results"
ALERTS_QUEUE = "alerts"
DEFAULT_QUEUE = "default"
# The scheduler's queue: ticks, round closing, the heartbeat sweep and escalation planning.
# Its worker runs nothing else, so nothing a receiver or a target does can delay a tick.
SCHEDULE_QUEUE = "schedule"
# Retention, rollups, domain expiry and ping pruning: slow by nature, never urgent.
HOUSEKEEPING_QUEUE = "housekeeping"

RUN_BATCH_TASK = "probes.run_batch"
RECORD_OUTCOMES_TASK = "monitors.record_outcomes"
