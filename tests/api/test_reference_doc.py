"""docs/api.md stays the reference of the API the code serves: every operation of the
OpenAPI document (generated from the same views and serializers) is in it with a curl
example, every resource attribute is named, and the repository cites nothing outside
itself."""

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
REFERENCE = (PROJECT / "docs" / "api.md").read_text()
CURL = re.compile(r"^curl [^\n]*", re.MULTILINE)
METHOD = re.compile(r" -X ([A-Z]+) ")
URL = re.compile(r"\"\$PHAROS(/[^\"?]*)")
# The v2 incident paths answer exactly as their v3 twins; the reference says so once.
ALIASES = {"/api/v2/incidents": "/api/v3/incidents"}
OUTSIDE = ("..", "/shared")
RESOURCE_SCHEMAS = (
    "Monitor", "MonitorRequest", "Heartbeat", "HeartbeatRequest", "Incident", "ManualIncidentRequest",
    "Policy", "Step", "StepMember", "Channel", "MonitorGroup", "HeartbeatGroup", "Urgency", "PolicyGroup",
    "Calendar", "EventRequest", "RotationRequest", "IncidentComment", "Availability",
    "StatusPage", "StatusPageRequest", "StatusPageSection", "StatusResource", "StatusResourceRequest",
    "StatusReport", "StatusReportRequest", "StatusUpdate", "StatusPageGroup",
)  # fmt: skip


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path


def as_pattern(path):
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path)) + "/?$")


def curl_examples():
    examples = []
    for line in CURL.findall(REFERENCE):
        method, url = METHOD.search(line), URL.search(line)
        if url:
            examples.append((method[1] if method else "GET", url[1]))
    return examples


def canonical(path):
    for alias, path_of in ALIASES.items():
        if path.startswith(alias):
            return path_of + path[len(alias) :]
    return path


def test_every_operation_the_api_serves_has_a_curl_example(schema):
    examples = curl_examples()
    missing = [
        f"{method} {path}"
        for method, path in operations(schema)
        if not any(used == method and as_pattern(canonical(path)).match(url) for used, url in examples)
    ]
    assert missing == []


def test_every_path_the_api_serves_is_named_in_the_reference(schema):
    missing = [path for path in schema["paths"] if canonical(path) not in REFERENCE]
    assert missing == []


def test_every_attribute_of_every_resource_is_named_in_the_reference(schema):
    schemas = schema["components"]["schemas"]
    missing = [
        f"{name}.{attribute}"
        for name in RESOURCE_SCHEMAS
        for attribute in schemas[name]["properties"]
        if f"`{attribute}`" not in REFERENCE
    ]
    assert missing == []


def test_no_file_of_the_repository_points_outside_it():
    cited = []
    for path in PROJECT.rglob("*"):
        relative = path.relative_to(PROJECT)
        if relative.parts[0] in (".git", ".venv", "var", "build") or "egg-info" in relative.parts[0]:
            continue
        if not path.is_file() or path.suffix not in (".py", ".md", ".toml", ".yaml", ".yml", ".sh", ".service", ""):
            continue
        text = path.read_text(errors="replace")
        if "".join(OUTSIDE) in text or re.search(r"(?<![\w/])API\.md", text):
            cited.append(str(relative))
    assert cited == []
