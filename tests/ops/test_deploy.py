"""deploy/ describes the same system `make run` starts, and its files are valid."""

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.supervisor import processes

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
REGIONS = ("us", "eu", "as")


def entrypoint_command(role, **env):
    """The command deploy/entrypoint.sh runs for a role (printed, not run)."""
    run = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), role],
        env={"PATH": os.environ["PATH"], "PHAROS_ENTRYPOINT_DRY_RUN": "1", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=DEPLOY.parent,
    )
    return run.stdout.split()


def supervisor_commands():
    """What `make run` starts, by process name, with the executable's folder stripped."""
    return {proc.name: [Path(proc.argv[0]).name, *proc.argv[1:]] for proc in processes(list(REGIONS), "8000")}


def without_option(argv, option):
    if option not in argv:
        return argv
    index = argv.index(option)
    return argv[:index] + argv[index + 2 :]


# --- the image -------------------------------------------------------------------------


def test_the_dockerfile_is_multi_stage_and_runs_as_a_non_root_user():
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in lines


@pytest.mark.parametrize("role", ["aggregator", "scheduler", "housekeeping", "alerts", "beat", "watchdog"])
def test_each_control_plane_role_runs_the_command_make_run_runs(role):
    expected = supervisor_commands()[role]
    actual = entrypoint_command(role)
    # beat's schedule file lives in a writable scratch folder in containers.
    assert without_option(actual, "--schedule") == without_option(expected, "--schedule")


def test_the_web_role_runs_gunicorn_like_make_run_but_on_every_interface():
    expected = supervisor_commands()["web"]
    actual = entrypoint_command("web", PORT="8000")
    assert without_option(actual, "--bind") == without_option(expected, "--bind")
    assert actual[actual.index("--bind") + 1] == "0.0.0.0:8000"


@pytest.mark.parametrize("region", REGIONS)
def test_the_probe_role_runs_the_region_worker_of_its_region(region):
    assert entrypoint_command("probe", PHAROS_REGION=region) == supervisor_commands()[f"probe.{region}"]


def test_the_probe_role_refuses_to_start_without_a_region():
    run = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "probe"],
        env={"PATH": os.environ["PATH"], "PHAROS_ENTRYPOINT_DRY_RUN": "1"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode != 0
    assert "PHAROS_REGION" in run.stderr


# --- compose ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_validates_with_docker_compose_where_it_exists():
    has_compose = (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0
    )
    if not has_compose:
        pytest.skip("docker compose is not installed; the structure tests below still run")
    env = dict(os.environ, SECRET_KEY="x", POSTGRES_PASSWORD="x", REDIS_PASSWORD="x")
    run = subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr


def test_compose_runs_every_part_of_pharos(compose):
    assert set(compose["services"]) == {
        "postgres",
        "redis",
        "nginx",
        "web",
        "beat",
        "aggregator",
        "scheduler",
        "housekeeping",
        "alerts",
        "watchdog",
        "probe-us",
        "probe-eu",
        "probe-as",
    }


@pytest.mark.parametrize(
    "service",
    [
        "web",
        "beat",
        "aggregator",
        "scheduler",
        "housekeeping",
        "alerts",
        "watchdog",
        "probe-us",
        "probe-eu",
        "probe-as",
    ],
)
def test_every_pharos_service_uses_the_one_image_with_its_role_as_command(compose, service):
    spec = compose["services"][service]
    assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
    assert spec["command"] == [service.split("-")[0]]


@pytest.mark.parametrize("region", REGIONS)
def test_compose_region_workers_get_only_the_broker_and_their_region(compose, region):
    environment = compose["services"][f"probe-{region}"]["environment"]
    assert set(environment) == {"REDIS_URL", "PHAROS_REGION"}
    assert environment["PHAROS_REGION"] == region
    assert environment["REDIS_URL"].startswith("redis://")


def test_compose_web_migrates_on_start_and_the_others_wait_for_it(compose):
    assert compose["services"]["web"]["environment"]["PHAROS_MIGRATE_ON_START"] == "1"
    for service in ("beat", "aggregator", "scheduler", "housekeeping", "alerts", "watchdog"):
        assert compose["services"][service]["depends_on"]["web"]["condition"] == "service_healthy"


def test_compose_control_plane_knows_every_region_it_runs_a_worker_for(compose):
    for service in ("web", "beat", "aggregator", "scheduler", "housekeeping", "alerts", "watchdog"):
        assert compose["services"][service]["environment"]["PHAROS_REGIONS"] == ",".join(REGIONS)


# --- Kubernetes ------------------------------------------------------------------------


def kustomize(folder):
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed")
    run = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / "k8s" / folder)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return [doc for doc in yaml.safe_load_all(run.stdout) if doc]


def deployments(docs):
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"}


def secrets_referenced(pod_spec):
    names = set()
    for container in pod_spec.get("initContainers", []) + pod_spec["containers"]:
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                names.add(source["secretRef"]["name"])
        for variable in container.get("env", []):
            reference = variable.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                names.add(reference["name"])
    for volume in pod_spec.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
    return names


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_overlay_renders_one_worker_pinned_to_its_region(region):
    workers = deployments(kustomize(f"overlays/{region}"))
    assert list(workers) == [f"pharos-probe-{region}"]
    spec = workers[f"pharos-probe-{region}"]["spec"]["template"]["spec"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    expressions = [expression for term in terms for expression in term["matchExpressions"]]
    assert [e["key"] for e in expressions] == ["topology.kubernetes.io/region"]
    assert expressions[0]["values"] and "set-by-the-overlay" not in expressions[0]["values"]
    env = {variable["name"]: variable for variable in spec["containers"][0]["env"]}
    assert env["PHAROS_REGION"]["value"] == region
    assert spec["containers"][0]["args"] == ["probe"]


@pytest.mark.parametrize("region", REGIONS)
def test_a_region_worker_gets_the_broker_secret_and_no_database_secret(region):
    spec = deployments(kustomize(f"overlays/{region}"))[f"pharos-probe-{region}"]["spec"]["template"]["spec"]
    assert secrets_referenced(spec) == {"pharos-broker"}
    assert "DATABASE_URL" not in str(spec)


def test_region_workers_run_as_a_non_root_user_without_privileges():
    spec = deployments(kustomize("overlays/eu"))["pharos-probe-eu"]["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    container = spec["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]


def test_the_control_plane_renders_web_beat_aggregator_scheduler_housekeeping_alerts_and_watchdog():
    workloads = deployments(kustomize("control-plane"))
    assert set(workloads) == {
        "pharos-web",
        "pharos-beat",
        "pharos-aggregator",
        "pharos-scheduler",
        "pharos-housekeeping",
        "pharos-alerts",
        "pharos-watchdog",
    }
    roles = {name: doc["spec"]["template"]["spec"]["containers"][0]["args"] for name, doc in workloads.items()}
    assert roles == {
        "pharos-web": ["web"],
        "pharos-beat": ["beat"],
        "pharos-aggregator": ["aggregator"],
        "pharos-scheduler": ["scheduler"],
        "pharos-housekeeping": ["housekeeping"],
        "pharos-alerts": ["alerts"],
        "pharos-watchdog": ["watchdog"],
    }


@pytest.mark.parametrize("name", ["pharos-beat", "pharos-watchdog"])
def test_there_is_never_more_than_one_beat_or_watchdog(name):
    workload = deployments(kustomize("control-plane"))[name]["spec"]
    assert workload["replicas"] == 1
    assert workload["strategy"]["type"] == "Recreate"


def test_web_migrates_first_and_is_probed_on_the_healthcheck():
    web = deployments(kustomize("control-plane"))["pharos-web"]["spec"]["template"]["spec"]
    assert [c["args"] for c in web["initContainers"]] == [["migrate"]]
    assert web["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/api/healthcheck"


# --- systemd and environment files ------------------------------------------------------


def unit(name):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_the_region_worker_unit_is_a_template_whose_instance_is_the_region():
    service = unit("pharos-probe@.service")["Service"]
    assert "PHAROS_REGION=%i" in service["Environment"]
    assert "-Q probe.%i" in service["ExecStart"]
    assert service["EnvironmentFile"] == "/etc/pharos/region-worker.env"
    assert service["User"] == "pharos"


@pytest.mark.parametrize(
    "name, queues",
    [
        ("pharos-aggregator.service", "-Q results "),
        ("pharos-scheduler.service", "-Q schedule "),
        ("pharos-housekeeping.service", "-Q housekeeping,default "),
        ("pharos-alerts.service", "-Q alerts "),
    ],
)
def test_control_plane_units_run_the_make_run_workers(name, queues):
    service = unit(name)["Service"]
    assert queues in service["ExecStart"] and "-A config.celery worker" in service["ExecStart"]
    assert service["EnvironmentFile"] == "/etc/pharos/control-plane.env"


def test_the_watchdog_unit_runs_the_watchdog_of_make_run():
    service = unit("pharos-watchdog.service")["Service"]
    assert service["ExecStart"].endswith("python manage.py watchdog")
    assert service["EnvironmentFile"] == "/etc/pharos/control-plane.env"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    # Point the units at this checkout so that verify can check the executables exist.
    venv_bin = str(Path(sys.executable).parent)
    for source in (DEPLOY / "systemd").iterdir():
        text = source.read_text().replace("/opt/pharos/.venv/bin", venv_bin).replace("/opt/pharos", str(DEPLOY.parent))
        (tmp_path / source.name).write_text(text)
    units = sorted(str(path) for path in tmp_path.iterdir())
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True, timeout=120)
    # Messages about units on this machine (not ours) are not our business.
    ours = [line for line in run.stderr.splitlines() if "pharos" in line]
    assert ours == []


def env_file(name):
    values = {}
    for line in (DEPLOY / "env" / name).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_the_region_worker_env_holds_the_broker_over_tls_and_nothing_secret_else():
    values = env_file("region-worker.env.example")
    assert set(values) == {"REDIS_URL", "PHAROS_REGION"}
    assert values["REDIS_URL"].startswith("rediss://:")
    assert "ssl_cert_reqs=required" in values["REDIS_URL"]


def test_the_control_plane_env_names_every_required_setting():
    values = env_file("control-plane.env.example")
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "PHAROS_BASE_URL", "PHAROS_REGIONS"} <= set(
        values
    )
