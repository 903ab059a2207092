"""deploy/nginx/ in front of the real gunicorn, as compose runs them: the configuration is
valid, slow clients wait in nginx instead of holding gunicorn's threads, plain HTTP is
redirected except for pings and the healthcheck, and HTTPS reaches Django as HTTPS.

nginx is the system's (Debian's package; compose uses the official image). Everything
listens on loopback; the addresses compose uses are rewritten to the test's own.
"""

import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heartbeats.models import Ping
from tests.heartbeats.conftest import ping_path, spare_port
from tests.heartbeats.test_slow_clients import SLOW_CLIENTS, slow_clients
from tests.probes.certificates import TestAuthority
from tests.processes import stop_process, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NGINX_DIR = Path(__file__).resolve().parents[2] / "deploy" / "nginx"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

MAIN_CONF = """
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/pharos.conf;
}}
"""


def nginx_configuration(folder, *, upstream_port, http_port, https_port, certificate):
    """deploy/nginx/ with compose's addresses replaced by loopback ones; the main file's path."""
    site = (NGINX_DIR / "pharos.conf").read_text()
    for compose_value, ours in [
        ("server web:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("listen [::]:443 ssl;", ""),
        ("/etc/nginx/tls/fullchain.pem", str(certificate.cert_file)),
        ("/etc/nginx/tls/privkey.pem", str(certificate.key_file)),
        ("/etc/nginx/conf.d/pharos-proxy.inc", str(NGINX_DIR / "pharos-proxy.inc")),
    ]:
        assert compose_value in site, compose_value
        site = site.replace(compose_value, ours)
    (folder / "pharos.conf").write_text(site)
    # As root, nginx's workers would drop to "nobody", who cannot enter pytest's folders.
    user = "user root;" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(MAIN_CONF.format(folder=folder, user=user))
    return main


@pytest.fixture
def behind_nginx(monkeypatch, request, tmp_path):
    if not os.access(NGINX, os.X_OK):
        pytest.fail("no nginx: `make nginx` installs Debian's package (deploy/local/ensure-nginx.sh)")
    # The production switches, as compose sets them for the web service.
    monkeypatch.setenv("PHAROS_SSL_REDIRECT", "1")
    monkeypatch.setenv("PHAROS_HSTS_SECONDS", "31536000")
    monkeypatch.setenv("PHAROS_SECURE_COOKIES", "1")
    monkeypatch.setenv("PHAROS_PROXY_SSL_HEADER", "X-Forwarded-Proto: https")
    monkeypatch.setenv("PHAROS_TRUSTED_PROXIES", "127.0.0.1")
    upstream = request.getfixturevalue("gunicorn")
    authority = TestAuthority(tmp_path)
    certificate = authority.issue(not_after=datetime.now(UTC) + timedelta(days=30))
    http_port, https_port = spare_port(), spare_port()
    main = nginx_configuration(
        tmp_path,
        upstream_port=upstream.rsplit(":", 1)[1],
        http_port=http_port,
        https_port=https_port,
        certificate=certificate,
    )
    checked = subprocess.run([NGINX, "-t", "-c", str(main)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-c", str(main)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tls = ssl.create_default_context(cafile=str(authority.ca_file))

    def answers():
        try:
            with socket.create_connection(("127.0.0.1", http_port), timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_for(answers, timeout=20, what="nginx to listen", process=process, output=lambda: "")
        yield http_port, https_port, tls
    finally:
        stop_process(process)


def fetch(url, *, context=None, timeout=10):
    """(status, headers) without following redirects."""

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirects, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers


def test_slow_bodies_wait_in_nginx_while_gunicorn_keeps_answering(behind_nginx, heartbeat):
    http_port, _, _ = behind_nginx

    def head(n):
        return (f"POST {ping_path(heartbeat)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n").encode()

    with slow_clients(http_port, head) as clients:
        time.sleep(1)  # every slow client has connected and started its body
        # gunicorn has 8 threads and Pharos's own body deadline (30 s) is far away: only
        # nginx holding the bodies lets this answer.
        status, _ = fetch(f"http://127.0.0.1:{http_port}/api/healthcheck", timeout=5)
        assert status == 200
        assert len(clients) == SLOW_CLIENTS
    assert not Ping.objects.filter(heartbeat=heartbeat).exists()


def test_plain_http_redirects_to_https_but_pings_and_the_healthcheck_pass(behind_nginx, heartbeat):
    http_port, _, _ = behind_nginx

    status, headers = fetch(f"http://127.0.0.1:{http_port}/admin/login/")
    assert (status, headers["Location"]) == (308, "https://127.0.0.1/admin/login/")

    assert fetch(f"http://127.0.0.1:{http_port}{ping_path(heartbeat)}")[0] == 200
    assert fetch(f"http://127.0.0.1:{http_port}/api/healthcheck")[0] == 200
    assert Ping.objects.filter(heartbeat=heartbeat).count() == 1


def test_over_https_django_sees_a_secure_request_and_sends_hsts_and_secure_cookies(behind_nginx):
    _, https_port, tls = behind_nginx

    status, headers = fetch(f"https://127.0.0.1:{https_port}/admin/login/", context=tls)

    assert status == 200  # not redirected again: X-Forwarded-Proto said https
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Secure" in headers["Set-Cookie"]
