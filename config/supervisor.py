"""`make run`: prepare the project, then run every Pharos process in the foreground.

1. Write ``.env`` with a generated SECRET_KEY on first start (quick start needs no setup).
2. Migrate, collect static files, create an admin user on first start (password printed once)
   and, while there is no team, the team ``My team`` with the admin in it (teams.first_run).
3. Start web (gunicorn), beat, the aggregator (``results``), the scheduler (``schedule``),
   housekeeping (``housekeeping``, ``default``), the alert sender (``alerts``), the watchdog
   (``manage.py watchdog``: Pharos watching itself) and one
   region worker per region in PHAROS_REGIONS (``probe.<region>``).
4. Prefix each process's output with its name; restart a process that dies, the way systemd
   or Kubernetes would; stop everything with a non-zero exit when one keeps crashing.
5. One Ctrl-C or SIGTERM stops them all.
"""

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from _thread import LockType
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

PROJECT_DIR = Path(__file__).resolve().parent.parent
DOTENV = PROJECT_DIR / ".env"
VAR = PROJECT_DIR / "var"

# A process that dies this many times within the window is broken, not unlucky.
CRASH_LIMIT = 5
CRASH_WINDOW = 60.0
RESTART_DELAY = 1.0
STOP_GRACE = 10.0


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    crashes: list[float] = field(default_factory=list)

    @property
    def started(self) -> subprocess.Popen[bytes]:
        if self.popen is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self.popen

    def start(self, base_env: Mapping[str, str], out_lock: LockType) -> None:
        env = dict(base_env, **self.env)
        self.popen = subprocess.Popen(
            self.argv,
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own process group: the supervisor decides when children stop, so one Ctrl-C
            # in the terminal does not hit them all at once before we can stop them in order.
            start_new_session=True,
        )
        threading.Thread(target=_pump, args=(self.name, self.popen.stdout, out_lock), daemon=True).start()


def _pump(name: str, stream: IO[bytes], out_lock: LockType) -> None:
    prefix = f"{name:>10} | "
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        with out_lock:
            sys.stdout.write(prefix + line + "\n")
            sys.stdout.flush()


def say(message: str) -> None:
    sys.stdout.write(f"{'pharos':>10} | {message}\n")
    sys.stdout.flush()


def ensure_dotenv() -> None:
    """First start: a .env with a random SECRET_KEY, so DEBUG can stay off."""
    if DOTENV.exists() or os.environ.get("SECRET_KEY"):
        return
    DOTENV.write_text(
        "# Written by `make run` on first start. Environment variables override these.\n"
        f"SECRET_KEY={secrets.token_urlsafe(48)}\n"
    )
    DOTENV.chmod(0o600)
    say(f"wrote {DOTENV.name} with a new SECRET_KEY")


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_DIR, check=True)


def ensure_admin_user() -> None:
    """Create the `admin` superuser once; its password is printed now and never again."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    users = get_user_model()
    if users.objects.filter(is_superuser=True).exists():
        return
    password = secrets.token_urlsafe(12)
    users.objects.create_superuser("admin", "admin@localhost", password)
    say("created the admin user — keep this password, it is not shown again:")
    say(f"    username: admin    password: {password}")


def ensure_first_team() -> None:
    """No team yet: make one with the admin in it, or the add-monitor form has no team."""
    from teams.first_run import ensure_first_team as create

    team = create()
    if team is not None:
        say(f"created the team {team.name!r} with the admin as its member and on-call contact")


def processes(regions: Sequence[str], port: int | str) -> list[Process]:
    python = sys.executable
    bindir = Path(python).parent
    celery = str(bindir / "celery")
    gunicorn = str(bindir / "gunicorn")
    # Gossip, mingle and worker heartbeats are broadcast chatter: the on-disk broker has no
    # fanout, and Pharos does not use remote control, so every worker runs without them.
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    # LOG_LEVEL for Celery's processes too; at INFO they leave out the per-task lines
    # (config.logging.quiet_routine_task_lines), which only DEBUG shows.
    log_level = os.environ.get("LOG_LEVEL", "INFO").upper()
    web = [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    if (PROJECT_DIR / "config" / "gunicorn.conf.py").exists():
        web += ["--config", "config/gunicorn.conf.py"]

    def worker(name: str, queues: str, *, concurrency: int, pool: str | None = None) -> Process:
        argv = [celery, "-A", "config.celery", "worker", "-Q", queues, "-n", f"{name}@%h"]
        argv += ["--pool", pool] if pool else ["--concurrency", str(concurrency)]
        return Process(name, [*argv, "--loglevel", log_level, *quiet])

    procs = [
        Process("web", web),
        Process(
            "beat",
            [
                celery,
                "-A",
                "config.celery",
                "beat",
                "--loglevel",
                log_level,
                "--schedule",
                os.environ.get("PHAROS_BEAT_SCHEDULE", str(VAR / "celerybeat-schedule")),
            ],
        ),
        worker("aggregator", "results", concurrency=2),
        # Ticks, round closing, the heartbeat sweep and escalation planning, and nothing else:
        # nothing a receiver or a target does can delay a tick (README, process table).
        worker("scheduler", "schedule", concurrency=2),
        # Retention, rollups, domain expiry and ping pruning (and any task without a route).
        worker("housekeeping", "housekeeping,default", concurrency=1),
        # Delivery only: one process whose asyncio sender (alerts.sender) runs many sends
        # at once, each bounded in time; the solo pool just hands it the outbox ids.
        worker("alerts", "alerts", concurrency=1, pool="solo"),
        # Pharos watching itself from outside the parts that can get stuck (config.watchdog).
        Process("watchdog", [python, "manage.py", "watchdog"]),
    ]
    for region in regions:
        procs.append(
            Process(
                f"probe.{region}",
                [
                    celery,
                    "-A",
                    "probes.worker",
                    "worker",
                    "-Q",
                    f"probe.{region}",
                    "-n",
                    f"probe-{region}@%h",
                    "--concurrency",
                    "1",
                    "--loglevel",
                    log_level,
                    *quiet,
                ],
                env={"PHAROS_REGION": region},
            )
        )
    return procs


class Supervisor:
    def __init__(self, procs: list[Process]) -> None:
        self.procs = procs
        self.out_lock = threading.Lock()
        self.stopping = False
        self.exit_code = 0

    def run(self) -> int:
        base_env = dict(os.environ)
        for proc in self.procs:
            proc.start(base_env, self.out_lock)
            say(f"started {proc.name} (pid {proc.started.pid})")
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        while not self.stopping:
            time.sleep(0.5)
            for proc in self.procs:
                code = proc.started.poll()
                if code is None or self.stopping:
                    continue
                now = time.monotonic()
                proc.crashes = [t for t in proc.crashes if now - t < CRASH_WINDOW] + [now]
                if len(proc.crashes) >= CRASH_LIMIT:
                    say(
                        f"{proc.name} exited {CRASH_LIMIT} times within {CRASH_WINDOW:.0f} s (last code {code}); stopping Pharos"
                    )
                    self.exit_code = 1
                    self.stopping = True
                    break
                say(f"{proc.name} exited with code {code}; restarting it")
                time.sleep(RESTART_DELAY)
                proc.start(base_env, self.out_lock)
        self.stop_all()
        return self.exit_code

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            say("stopping all processes")
        self.stopping = True

    def stop_all(self) -> None:
        alive = [p for p in self.procs if p.popen and p.popen.poll() is None]
        for proc in alive:
            # SIGTERM to the leader only: a Celery worker then shuts its pool down warmly;
            # signalling the whole group would kill pool children under it mid-task.
            proc.started.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for proc in alive:
            try:
                proc.started.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{proc.name} did not stop within {STOP_GRACE:.0f} s; killing it")
                _signal_group(proc.started, signal.SIGKILL)
                proc.started.wait()
        say("all processes stopped")


def _signal_group(popen: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(popen.pid, signum)
    except ProcessLookupError:
        pass


def main() -> None:
    os.chdir(PROJECT_DIR)
    VAR.mkdir(exist_ok=True)
    ensure_dotenv()
    sys.path.insert(0, str(PROJECT_DIR))
    from config.dotenv import load_dotenv

    load_dotenv()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    regions = settings.PHAROS_REGIONS
    port = os.environ.get("PORT", "8000")
    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput", "--verbosity", "0")
    ensure_admin_user()
    ensure_first_team()
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = (
        "Redis"
        if os.environ.get("REDIS_URL")
        else f"the on-disk broker in {os.path.relpath(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get('data_folder_in', 'var/broker'))}"
    )
    say(f"database: {database}; broker: {broker}; regions: {', '.join(regions)}")
    say(f"admin: http://127.0.0.1:{port}/admin/")
    say("API token: .venv/bin/python manage.py createtoken 'My team' --email you@example.com")
    sys.exit(Supervisor(processes(regions, port)).run())


if __name__ == "__main__":
    main()
