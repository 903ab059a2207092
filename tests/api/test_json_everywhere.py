"""Every path under /api/ answers JSON for every method — never Django's HTML pages.

The client enforces CSRF as a browser-less script meets it: no cookie, no token. Before
the catch-all was CSRF-exempt, a POST or PATCH to an unknown path got Django's HTML
"CSRF verification failed" page instead of the API's 404.
"""

import pytest
from django.test import Client

NOT_FOUND = {"errors": "Resource with provided ID was not found"}
UNKNOWN_PATHS = ["/api/v2/monitor", "/api/v3/nothing/here", "/api/v1/whatever", "/api/", "/api/v2/monitors/"]


@pytest.fixture
def strict_client():
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize("method", ["get", "post", "patch", "put", "delete", "options"])
@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_an_unknown_api_path_is_the_json_404_for_every_method(db, strict_client, method, path):
    call = getattr(strict_client, method)
    response = call(path) if method == "get" else call(path, data="{}", content_type="application/json")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == NOT_FOUND


def test_a_head_request_to_an_unknown_path_is_a_404_without_a_body(db, strict_client):
    response = strict_client.head("/api/v2/monitor")

    assert response.status_code == 404
    assert response.content == b""


def test_a_method_a_plain_django_view_refuses_is_a_json_405_naming_the_allowed_ones(db, strict_client):
    response = strict_client.post("/api/healthcheck", data="{}", content_type="application/json")

    assert response.status_code == 405
    assert response.json() == {"errors": "Method Not Allowed"}
    assert "GET" in response["Allow"]


def test_a_method_a_resource_refuses_is_a_json_405(api):
    response = api.client.put(
        "/api/v2/monitors", data="{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}"
    )

    assert response.status_code == 405
    assert isinstance(response.json()["errors"], str)


def test_a_missing_docs_asset_is_a_json_404(db, strict_client):
    response = strict_client.get("/api/docs/assets/no-such-file.js")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_paths_outside_the_api_keep_djangos_own_pages(db, strict_client):
    response = strict_client.get("/no-such-page")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_the_docs_page_is_still_html(db, strict_client):
    response = strict_client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_the_heartbeat_ping_url_keeps_its_plain_text_answers(db, strict_client):
    response = strict_client.post("/api/v1/heartbeat/not-a-token-of-ours")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
