"""Settings come from the environment; a bad value stops start-up and names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import database_from_url, env_int, env_regions

PROJECT_DIR = Path(__file__).resolve().parents[2]


def start_django(**env):
    """Import the settings in a fresh interpreter, as a process start-up would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PHAROS_", "DATABASE_URL", "REDIS_URL"))}
    environment.update({"SECRET_KEY": "x", "PHAROS_IGNORE_DOTENV": "1", "DJANGO_SETTINGS_MODULE": "config.settings"})
    environment.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.PHAROS_REGIONS)",
        ],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_empty_region_list_stops_start_up_naming_the_variable():
    result = start_django(PHAROS_REGIONS="")
    assert result.returncode != 0
    assert "PHAROS_REGIONS" in result.stderr


def test_non_numeric_minimum_frequency_stops_start_up_naming_the_variable():
    result = start_django(PHAROS_MIN_CHECK_FREQUENCY="abc")
    assert result.returncode != 0
    assert "PHAROS_MIN_CHECK_FREQUENCY" in result.stderr


def test_unknown_database_scheme_stops_start_up_naming_the_variable():
    result = start_django(DATABASE_URL="mysql://root@127.0.0.1/pharos")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = start_django(SECRET_KEY="", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_fresh_checkout_checks_its_migrations_without_a_secret_key():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PHAROS_", "SECRET_KEY", "DEBUG"))}
    environment["PHAROS_IGNORE_DOTENV"] = "1"

    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
    # The key it made for itself stays its own: a served process still needs one.
    assert start_django(SECRET_KEY="", DEBUG="0").returncode != 0


def test_debug_runs_without_a_secret_key():
    result = start_django(SECRET_KEY="", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_regions_are_read_from_the_environment():
    result = start_django(PHAROS_REGIONS="us, eu")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['us', 'eu']"


def test_a_bad_redis_url_names_the_variable():
    result = start_django(REDIS_URL="http://127.0.0.1:6379")
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


def test_unset_database_url_means_a_sqlite_file_in_the_project():
    config = database_from_url(None, sqlite_default_path=PROJECT_DIR / "pharos.sqlite3")
    assert config == {"ENGINE": "django.db.backends.sqlite3", "NAME": str(PROJECT_DIR / "pharos.sqlite3")}


def test_postgres_url_becomes_a_psycopg_database():
    config = database_from_url("postgres://pharos:s%40cret@db.internal:6543/pharos", sqlite_default_path="x")
    assert config == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "pharos",
        "USER": "pharos",
        "PASSWORD": "s@cret",
        "HOST": "db.internal",
        "PORT": "6543",
    }


def test_postgres_url_without_a_database_name_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url("postgres://127.0.0.1:5432", sqlite_default_path="x")


def test_a_minimum_below_the_floor_is_refused(monkeypatch):
    monkeypatch.setenv("PHAROS_MIN_CHECK_FREQUENCY", "0")
    with pytest.raises(ImproperlyConfigured, match="PHAROS_MIN_CHECK_FREQUENCY"):
        env_int("PHAROS_MIN_CHECK_FREQUENCY", 10, minimum=1)


def test_a_region_name_that_cannot_be_a_queue_name_is_refused(monkeypatch):
    monkeypatch.setenv("PHAROS_REGIONS", "us,eu west")
    with pytest.raises(ImproperlyConfigured, match="PHAROS_REGIONS"):
        env_regions()


def test_a_region_listed_twice_is_refused(monkeypatch):
    monkeypatch.setenv("PHAROS_REGIONS", "us,eu,us")
    with pytest.raises(ImproperlyConfigured, match="PHAROS_REGIONS"):
        env_regions()


def test_a_database_url_with_a_bad_port_names_the_variable_and_hides_the_password():
    result = start_django(DATABASE_URL="postgres://pharos:s3cret@db:54x2/pharos")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr and "s3cret" not in result.stderr


def test_an_unknown_log_level_names_the_variable():
    result = start_django(LOG_LEVEL="verbose")
    assert result.returncode != 0
    assert "LOG_LEVEL" in result.stderr
