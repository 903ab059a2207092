"""Pharos run the way `make run` runs it (python -m config.supervisor), against the fault
tests' own PostgreSQL and Redis, plus read-only looks at its database.

The supervisor starts each process in a session of its own, so a region worker's process
group is the worker and its pool: killing or freezing that group hits exactly one role.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg

from tests.ops.servers import spare_port
from tests.processes import stop_process

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Everything Pharos reads from the environment is set here explicitly; the suite's own
# variables (its DATABASE_URL, REDIS_URL, test database name) must not leak in.
_DROPPED = ("DATABASE_URL", "REDIS_URL", "PHAROS_", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "PORT")


def process_table():
    """``{pid: (ppid, args)}`` for every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                args = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        # The command name in parentheses may hold spaces: the ppid follows the last ')'.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        table[int(entry)] = (ppid, args)
    return table


def descendants(pid):
    table = process_table()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _) in table.items():
            if ppid == parent:
                found.append(child)
                frontier.append(child)
    return found


class PharosSystem:
    def __init__(self, *, database_url, redis_url, workdir, regions=("us", "eu", "as"), **settings):
        self.database_url = database_url
        self.redis_url = redis_url
        self.workdir = Path(workdir)
        self.port = spare_port()
        self.regions = regions
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            SECRET_KEY="pharos-fault-tests",
            PORT=str(self.port),
            PHAROS_IGNORE_DOTENV="1",
            PHAROS_REGIONS=",".join(regions),
            PHAROS_ALLOW_PRIVATE_TARGETS="1",
            PHAROS_MIN_CHECK_FREQUENCY="1",
            PHAROS_BEAT_SCHEDULE=str(self.workdir / "celerybeat-schedule"),
            PHAROS_BROKER_DIR=str(self.workdir / "broker"),
            PHAROS_ALERT_RETRY_SECONDS="1",
            PYTHONUNBUFFERED="1",
        )
        env.update({key: str(value) for key, value in settings.items()})
        self.env = env
        self.log_path = self.workdir / "pharos.log"
        self.supervisor = None
        self._log = None
        self._known_children = set()

    # --- lifecycle ------------------------------------------------------------------------

    def manage(self, *args, timeout=300):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def seed(self, **scenario):
        """Create the scenario's rows (tests/ops/scenario.py) in this system's database."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.ops.scenario", json.dumps(scenario)],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self):
        self._log = open(self.log_path, "ab")
        self.supervisor = subprocess.Popen(
            [sys.executable, "-m", "config.supervisor"],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def stop(self):
        """SIGTERM the supervisor (it stops its children warmly); then make sure every
        process it ever started is gone, even if it was killed or stuck."""
        if self.supervisor is None:
            return
        self._known_children.update(descendants(self.supervisor.pid))
        stop_process(self.supervisor, grace=30)
        for pid in self._known_children:
            for signum in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    break
        self._log.close()

    def log_tail(self, chars=4000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # --- its processes ------------------------------------------------------------------

    def role_pid(self, marker):
        """The pid of the supervisor's child whose command line holds ``marker``
        (e.g. ``-Q probe.eu``, ``-Q results``), or None while there is none."""
        table = process_table()
        for pid, (ppid, args) in table.items():
            if ppid == self.supervisor.pid and marker in args:
                self._known_children.add(pid)
                self._known_children.update(descendants(pid))
                return pid
        return None

    def signal_role(self, marker, signum):
        """Send ``signum`` to a role's whole process group (the worker and its pool)."""
        pid = self.role_pid(marker)
        assert pid, f"no process with {marker!r} is running:\n{self.log_tail()}"
        os.killpg(pid, signum)
        return pid

    def all_roles_running(self):
        markers = ["gunicorn", " beat", "-Q results ", "-Q schedule ", "-Q housekeeping,default ", "-Q alerts "]
        markers += ["manage.py watchdog"]
        markers += [f"-Q probe.{r}" for r in self.regions]
        return all(self.role_pid(marker) for marker in markers)

    # --- its web ------------------------------------------------------------------------

    def get(self, path, **kwargs):
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10, **kwargs)

    def health(self):
        """``(status code, body)`` of /api/healthcheck?services=true, or None while web is down."""
        try:
            response = self.get("/api/healthcheck?services=true")
        except httpx.HTTPError:
            return None
        return response.status_code, response.json()


class Database:
    """Read-only SQL on the system's database; every call opens its own short connection,
    so a PostgreSQL restart costs one failed call (None), not a broken fixture."""

    def __init__(self, url):
        self.url = url

    def rows(self, sql, *params):
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
                return connection.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            return None

    def value(self, sql, *params):
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None

    def regions_reporting_since(self, moment):
        rows = self.rows("SELECT DISTINCT region FROM monitors_checkresult WHERE checked_at > %s", moment)
        return {region for (region,) in rows or ()}

    def incidents(self):
        return self.rows("SELECT id, source_type, source_id, resolved_at FROM alerts_incident ORDER BY id")

    def notifications(self):
        return self.rows(
            "SELECT incident_id, event, step, recipient, kind, status FROM alerts_notification ORDER BY id"
        )

    def closed_rounds(self, monitor_id):
        """``[(scheduled_at, dispatched_at, verdict, regions that voted)]`` of closed rounds."""
        return (
            self.rows(
                """
            SELECT r.scheduled_at, r.dispatched_at, r.verdict,
                   ARRAY(SELECT c.region FROM monitors_checkresult c
                         WHERE c.monitor_id = r.monitor_id AND c.scheduled_at = r.scheduled_at ORDER BY c.region)
            FROM monitors_round r
            WHERE r.monitor_id = %s AND r.closed_at IS NOT NULL
            ORDER BY r.scheduled_at
            """,
                monitor_id,
            )
            or []
        )

    def monitor_status(self, monitor_id):
        return self.value("SELECT status FROM monitors_monitor WHERE id = %s", monitor_id)
