#!/usr/bin/env python
"""Ping ingest through the real server, next to a trivial view served the same way.

1. Creates a scratch PostgreSQL database (dropped at the end, whatever happens) on the
   server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pharos), migrates
   it and makes ``--heartbeats`` heartbeats.
2. Starts gunicorn as ``make run`` does — ``gunicorn config.wsgi:application --bind
   127.0.0.1:<spare port>`` with ``config/gunicorn.conf.py`` when it exists — on loopback.
3. Loads it with wrk (Debian's ``wrk``; a multi-process Python client when it is missing),
   each phase bounded by ``--duration`` seconds and ``--connections`` connections:
   the trivial view (``GET /api/healthcheck``: no database, the full middleware), pings
   spread round-robin over every heartbeat, and every ping to one heartbeat.
4. Prints ``name: value unit`` lines, and for each ping phase the pings stored against
   the 200s received: every 200 must be a stored ping.

Usage: .venv/bin/python bench/ping_ingest.py [--duration 8] [--connections 32] [--heartbeats 10000]
"""

import argparse
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
TRIVIAL_PATH = "/api/healthcheck"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--heartbeats", type=int, default=10000)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--gunicorn-arg", action="append", default=[], help="extra gunicorn argument (repeatable)")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pharos")
    scratch = f"pharos_bench_ping_{os.getpid()}"
    scratch_url = with_database(server_url, scratch)
    env = bench_environment(scratch_url)
    os.environ.update(env)
    client = pick_client(args.client)

    create_database(server_url, scratch)
    gunicorn = None
    try:
        tokens = prepare_database(args.heartbeats)
        port = spare_port()
        gunicorn = args.gunicorn = start_gunicorn(port, env, args.gunicorn_arg)
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(base + TRIVIAL_PATH, gunicorn)
        print(f"client: {client}")
        print(f"gunicorn: {' '.join(gunicorn.args[1:])}")
        print(f"cores: {os.cpu_count()}")

        run_phase(client, base, [TRIVIAL_PATH] * 8, args, label="warm-up", quiet=True)
        trivial = run_phase(client, base, [TRIVIAL_PATH], args, label="trivial view")
        spread = run_ping_phase(client, base, [f"/api/v1/heartbeat/{t}" for t in tokens], args, label="pings spread")
        single = run_ping_phase(client, base, [f"/api/v1/heartbeat/{tokens[0]}"], args, label="pings one heartbeat")

        print(f"trivial_view_rate: {trivial['rate']:.0f} requests/s")
        print(f"trivial_view_cpu: {trivial['web_cpu_ms'] + trivial['db_cpu_ms']:.2f} ms/request")
        for name, phase in (("ping_spread", spread), ("ping_one_heartbeat", single)):
            print(f"{name}_rate: {phase['rate']:.0f} pings/s")
            print(f"{name}_cpu: {phase['web_cpu_ms'] + phase['db_cpu_ms']:.2f} ms/ping")
            print(f"{name}_latency_p50: {phase['p50']:.1f} ms")
            print(f"{name}_latency_p99: {phase['p99']:.1f} ms")
            print(f"{name}_responses_200: {phase['ok']} responses")
            print(f"{name}_responses_other: {phase['other']} responses")
            print(f"{name}_pings_stored: {phase['stored']} pings")
            print(f"{name}_pings_lost: {max(0, phase['ok'] - phase['stored'])} pings")
        print(f"spread_vs_trivial: {100 * spread['rate'] / trivial['rate']:.0f} %")
        print(f"one_heartbeat_vs_spread: {100 * single['rate'] / spread['rate']:.0f} %")
        print(f"goal_1500_per_s: {'met' if spread['rate'] >= 1500 else 'missed'}")
    finally:
        if gunicorn is not None:
            stop(gunicorn)
            if gunicorn.returncode in (0, -signal.SIGTERM):
                gunicorn_log().unlink(missing_ok=True)  # kept only when gunicorn failed
        from django.db import connections

        connections.close_all()
        drop_database(server_url, scratch)


def bench_environment(database_url):
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-ping-ingest",
        "DEBUG": "0",
        "PHAROS_IGNORE_DOTENV": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _admin_connection(server_url):
    import psycopg

    parts = urlsplit(server_url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        # The maintenance database: the one DATABASE_URL names need not exist.
        dbname="postgres",
        autocommit=True,
    )


def create_database(server_url, name):
    with _admin_connection(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url, name):
    with _admin_connection(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_database(count):
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    from django.core.management import call_command

    from heartbeats.models import Heartbeat
    from teams.models import Team

    call_command("migrate", verbosity=0, interactive=False)
    from datetime import timedelta

    from django.utils import timezone

    team = Team.objects.create(name="Bench")
    # Up and last pinged an hour ago, as a live fleet is: every ping of the bench then
    # takes the path real pings take, and none is a heartbeat's first.
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Heartbeat.objects.bulk_create(
        Heartbeat(
            team=team,
            name=f"job {i}",
            period=7200,
            grace=300,
            status="up",
            last_ping_at=an_hour_ago,
            alert_after=an_hour_ago + timedelta(seconds=7500),
        )
        for i in range(count)
    )
    return list(Heartbeat.objects.order_by("id").values_list("token", flat=True))


def stored_pings():
    from heartbeats.models import Ping

    return Ping.objects.count()


def spare_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_command(port, extra):
    command = [str(PYTHON.parent / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    if (PROJECT / "config" / "gunicorn.conf.py").exists():
        command += ["--config", "config/gunicorn.conf.py"]
    else:
        command += ["--workers", str(2 * (os.cpu_count() or 1) + 1)]
    return command + list(extra)


def gunicorn_log():
    return Path(tempfile.gettempdir()) / f"bench-ping-gunicorn-{os.getpid()}.log"


def start_gunicorn(port, env, extra):
    return subprocess.Popen(
        gunicorn_command(port, extra),
        cwd=PROJECT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=open(gunicorn_log(), "w"),
        start_new_session=True,
    )


def wait_until_answering(url, process, deadline=30.0):
    stop_at = time.monotonic() + deadline
    while time.monotonic() < stop_at:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see its log in {tempfile.gettempdir()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {url} within {deadline} s")


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


def _cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_used(gunicorn_process):
    """CPU seconds used so far by gunicorn's processes and the scratch database's backends.

    Contention from other work on the machine moves requests per second a lot; CPU per
    request much less, so the bench prints both.
    """
    from django.db import connection

    try:
        workers = [
            int(p)
            for p in subprocess.run(
                ["pgrep", "-g", str(gunicorn_process.pid)], capture_output=True, text=True
            ).stdout.split()
        ]
    except OSError:
        workers = [gunicorn_process.pid]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return sum(_cpu_seconds(pid) for pid in workers), sum(_cpu_seconds(pid) for pid in backends)


def pick_client(choice):
    if choice == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if choice == "wrk":
        raise SystemExit("wrk is not installed (apt-get install -y wrk), or use --client python")
    return "python"


def run_ping_phase(client, base, paths, args, *, label):
    before = stored_pings()
    result = run_phase(client, base, paths, args, label=label)
    # Requests still in flight when the client stopped may land a moment later.
    time.sleep(0.5)
    result["stored"] = stored_pings() - before
    return result


# As a browser asks; the trivial view ignores it, the status page answers gzip. An empty
# value sends no Accept-Encoding (curl without --compressed, many bots).
BROWSER_ACCEPT_ENCODING = "gzip, deflate"


def run_phase(client, base, paths, args, *, label, quiet=False, accept_encoding=BROWSER_ACCEPT_ENCODING):
    duration = 2.0 if quiet else args.duration
    web_before, db_before = cpu_used(args.gunicorn)
    if client == "wrk":
        result = run_wrk(base, paths, duration, args.connections, accept_encoding)
    else:
        result = run_python_client(base, paths, duration, args.connections, accept_encoding)
    web_after, db_after = cpu_used(args.gunicorn)
    answered = max(1, result["ok"] + result["other"])
    result["web_cpu_ms"] = 1000 * (web_after - web_before) / answered
    result["db_cpu_ms"] = 1000 * (db_after - db_before) / answered
    if not quiet:
        print(
            f"# {label}: {result['rate']:.0f}/s, {result['ok']} ok, {result['other']} other, "
            f"CPU per request {result['web_cpu_ms']:.2f} ms gunicorn + {result['db_cpu_ms']:.2f} ms postgres",
            flush=True,
        )
    return result


# Rotates over the paths; no response() callback, which would hand every response to Lua
# and cost the client CPU the server needs (wrk counts non-2xx answers by itself).
WRK_SCRIPT = """
local paths = {%(paths)s}
local headers = {%(headers)s}
local next_id = 0
counter = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
end

function init(args)
    counter = id * 7919
end

function request()
    counter = counter + 1
    return wrk.format("GET", paths[(counter %% #paths) + 1], headers)
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("BENCH requests=%%d non2xx=%%d errors=%%d p50=%%.3f p99=%%.3f\\n", summary.requests,
        e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def run_wrk(base, paths, duration, connections, accept_encoding=BROWSER_ACCEPT_ENCODING):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        headers = f'["Accept-Encoding"] = "{accept_encoding}"' if accept_encoding else ""
        script.write(WRK_SCRIPT % {"paths": ", ".join(f'"{p}"' for p in paths), "headers": headers})
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                base,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    numbers = dict(re.findall(r"(\w+)=([\d.]+)", output.split("BENCH", 1)[1]))
    # Every answer of these endpoints that is not an error is a 200.
    return {
        "rate": rate,
        "ok": int(numbers["requests"]) - int(numbers["non2xx"]),
        "other": int(numbers["non2xx"]) + int(numbers["errors"]),
        "p50": float(numbers["p50"]),
        "p99": float(numbers["p99"]),
    }


def _python_worker(base, paths, offset, stop_at, queue, accept_encoding):
    import http.client

    host, port = urlsplit(base).hostname, urlsplit(base).port
    ok = other = 0
    latencies = []
    conn = http.client.HTTPConnection(host, port, timeout=10)
    index = offset
    while time.monotonic() < stop_at:
        path = paths[index % len(paths)]
        index += 1
        started = time.monotonic()
        try:
            conn.request("GET", path, headers={"Accept-Encoding": accept_encoding} if accept_encoding else {})
            response = conn.getresponse()
            response.read()
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
            ok += response.status == 200
            other += response.status != 200
        except OSError:
            other += 1
            conn.close()
        latencies.append(time.monotonic() - started)
    queue.put((ok, other, latencies))


def run_python_client(base, paths, duration, connections, accept_encoding=BROWSER_ACCEPT_ENCODING):
    """A bounded multi-process client: one keep-alive connection per process."""
    processes = min(connections, 2 * (os.cpu_count() or 1) * 4)
    queue = multiprocessing.Queue()
    started = time.monotonic()
    stop_at = started + duration
    workers = [
        multiprocessing.Process(target=_python_worker, args=(base, paths, i * 7919, stop_at, queue, accept_encoding))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=duration + 60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    elapsed = time.monotonic() - started
    ok = sum(r[0] for r in results)
    other = sum(r[1] for r in results)
    latencies = sorted(latency for r in results for latency in r[2]) or [0.0]
    return {
        "rate": (ok + other) / elapsed,
        "ok": ok,
        "other": other,
        "p50": 1000 * latencies[len(latencies) // 2],
        "p99": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


if __name__ == "__main__":
    main()
