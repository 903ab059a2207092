"""The HTTPS hardening switches: `manage.py check --deploy` is clean with the values the
production examples set, and what each switch turns on (issue 11, finding 7)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.env import env_proxy_ssl_header
from tests.ops.test_deploy import env_file

PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT / "deploy"
SWITCHES = (
    "PHAROS_SSL_REDIRECT",
    "PHAROS_HSTS_SECONDS",
    "PHAROS_HSTS_INCLUDE_SUBDOMAINS",
    "PHAROS_HSTS_PRELOAD",
    "PHAROS_SECURE_COOKIES",
    "PHAROS_PROXY_SSL_HEADER",
)


def check_deploy(**switches):
    env = {
        "PATH": os.environ["PATH"],
        "PHAROS_IGNORE_DOTENV": "1",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "pharos.example.com",
        "PHAROS_BASE_URL": "https://pharos.example.com",
        **switches,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_switches_of_the_production_env_example():
    example = env_file("control-plane.env.example")
    switches = {name: example[name] for name in SWITCHES}

    run = check_deploy(**switches)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "System check identified no issues" in run.stdout


def test_without_the_switches_check_deploy_names_each_missing_one():
    run = check_deploy()

    assert run.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in run.stderr + run.stdout


def test_compose_and_kubernetes_turn_every_switch_on():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    web = compose["services"]["web"]["environment"]
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "control-plane" / "kustomization.yaml").read_text())
    [config] = [generator for generator in kustomization["configMapGenerator"] if generator["name"] == "pharos-config"]
    literals = dict(literal.split("=", 1) for literal in config["literals"])

    for name in SWITCHES:
        assert web[name] not in ("", "0", f"${{{name}:-0}}"), name
        assert literals[name] not in ("", "0"), name
    assert web["PHAROS_PROXY_SSL_HEADER"] == literals["PHAROS_PROXY_SSL_HEADER"] == "X-Forwarded-Proto: https"


def test_only_nginx_is_published_in_compose_so_the_scheme_header_cannot_be_forged():
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]

    published = {name for name, spec in services.items() if spec.get("ports")}

    assert published == {"nginx"}
    assert services["nginx"]["image"].startswith("nginx:")
    nginx_address = services["nginx"]["networks"]["default"]["ipv4_address"]
    assert services["web"]["environment"]["PHAROS_TRUSTED_PROXIES"] == nginx_address


@pytest.mark.parametrize(
    ("value", "setting"),
    [
        ("X-Forwarded-Proto: https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("1", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Ssl: on", ("HTTP_X_FORWARDED_SSL", "on")),
        ("", None),
        ("0", None),
    ],
)
def test_the_proxy_ssl_header_switch_reads_as_djangos_setting(monkeypatch, value, setting):
    monkeypatch.setenv("PHAROS_PROXY_SSL_HEADER", value)
    assert env_proxy_ssl_header() == setting


def test_a_malformed_proxy_ssl_header_stops_the_start_naming_the_variable(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("PHAROS_PROXY_SSL_HEADER", "https")
    with pytest.raises(ImproperlyConfigured, match="PHAROS_PROXY_SSL_HEADER"):
        env_proxy_ssl_header()


@pytest.mark.django_db
def test_the_https_redirect_spares_the_healthcheck_that_probes_send_over_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/admin/login/").status_code == 301
    assert client.get("/api/healthcheck").status_code == 200


@pytest.mark.django_db
def test_behind_the_proxy_a_forwarded_https_request_gets_hsts_and_no_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
