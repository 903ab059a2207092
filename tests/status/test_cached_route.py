"""The WSGI route of cached status pages (status.wsgi): a fresh public page answered before
the project's middleware and URL walk, with the same bytes and headers; everything else
answered by the project's application as before."""

import gzip
import io
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from status.page_cache import refresh_team
from status.wsgi import with_cached_status_pages
from tests.status.conftest import open_outage, protect

HOST = "status.example.com"
SHARED_HEADERS = (
    "Content-Type",
    "Content-Length",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Vary",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


class ProjectApplication:
    """Django's WSGI application for the project, counting the requests that reach it."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


@pytest.fixture
def route(settings):
    settings.ALLOWED_HOSTS = [HOST]
    # As django.test.Client does: the test's transaction keeps its connection between requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    project = ProjectApplication()
    yield with_cached_status_pages(project), project
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(application, path, *, method="GET", host=HOST, body=b"", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": host,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status[:3])
        started["headers"] = dict(response_headers)

    chunks = application(environ, start_response)
    content = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return started["status"], started["headers"], content


def test_a_cached_page_is_answered_before_the_middleware_with_the_same_bytes_and_headers(route, built_page):
    application, project = route
    rendered = call(application, "/status/eleva/")
    assert project.calls == 1 and rendered[0] == 200

    with CaptureQueriesContext(connection) as queries:
        cached = call(application, "/status/eleva/")

    assert project.calls == 1 and queries.captured_queries == []
    assert cached[0] == 200 and cached[2] == rendered[2]
    assert {name: cached[1].get(name) for name in SHARED_HEADERS} == {
        name: rendered[1].get(name) for name in SHARED_HEADERS
    }
    assert cached[1]["X-Frame-Options"] == "DENY" and cached[1]["X-Content-Type-Options"] == "nosniff"
    assert 'data-state="operational"' in cached[2].decode()


def test_the_route_answers_gzip_a_304_and_the_json_twin(route, built_page):
    application, project = route
    plain = call(application, "/status/eleva/")
    document = call(application, "/status/eleva/index.json")
    calls = project.calls

    status, headers, zipped = call(application, "/status/eleva/", accept_encoding="gzip, deflate, br")
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped) == plain[2]
    assert call(application, "/status/eleva/", if_none_match=plain[1]["ETag"])[:3:2] == (304, b"")
    status, headers, again = call(application, "/status/eleva/index.json")
    assert status == 200 and headers["Content-Type"] == "application/json" and again == document[2]
    assert project.calls == calls


def test_a_new_incident_goes_through_the_application_and_shows(route, built_page):
    application, project = route
    call(application, "/status/eleva/")

    open_outage(built_page["api"], at=timezone.now())
    refresh_team(built_page["page"].team_id)  # what the incident's commit runs
    status, _, content = call(application, "/status/eleva/")

    assert project.calls == 2 and 'data-state="downtime"' in content.decode()


def test_a_protected_page_always_goes_through_the_application(route, built_page):
    application, project = route
    protect(built_page["page"])

    for _ in range(2):
        status, _, content = call(application, "/status/eleva/")
        assert status == 401 and b"Website" not in content
    assert call(application, "/status/eleva/index.json")[0] == 401
    assert project.calls == 3


def test_a_host_outside_allowed_hosts_gets_the_applications_400_though_the_page_is_cached(route, built_page):
    application, project = route
    call(application, "/status/eleva/")

    status, _, content = call(application, "/status/eleva/", host="evil.example.net")

    assert status == 400 and b"Website" not in content and project.calls == 2


def test_posts_and_unknown_pages_go_through_the_application(route, built_page):
    application, project = route
    call(application, "/status/eleva/")

    assert call(application, "/status/nobody/")[0] == 404
    assert call(application, "/status/eleva/", method="POST", body=b"")[0] == 405
    assert project.calls == 3


def test_a_custom_domain_is_answered_from_the_cache_once_looked_up(route, built_page):
    application, project = route
    page = built_page["page"]
    page.custom_domain = HOST
    page.save()
    looked_up = call(application, "/")
    document = call(application, "/index.json")
    assert project.calls == 2 and looked_up[0] == 200 and "Website" in looked_up[2].decode()

    with CaptureQueriesContext(connection) as queries:
        cached = call(application, "/")
        cached_document = call(application, "/index.json")

    assert project.calls == 2 and queries.captured_queries == []
    assert cached[2] == looked_up[2] and cached_document[2] == document[2]
    assert call(application, "/status/eleva/")[2] == looked_up[2]  # the same rendition


def test_a_domain_taken_off_its_page_stops_serving_it_at_once(route, built_page, django_capture_on_commit_callbacks):
    application, project = route
    page = built_page["page"]
    page.custom_domain = HOST
    page.save()
    assert call(application, "/")[0] == 200

    page.custom_domain = None
    with django_capture_on_commit_callbacks(execute=True):  # the commit refreshes the team's pages
        page.save()
    call(application, "/status/eleva/")  # the page itself rendered afresh
    status, headers, _ = call(application, "/")

    assert (status, headers["Location"]) == (302, "/admin/")
    assert project.calls == 3  # each of the three requests


def test_the_root_of_a_host_without_a_page_goes_to_the_application(route, built_page):
    application, project = route

    for _ in range(2):
        status, headers, _ = call(application, "/")
        assert (status, headers["Location"]) == (302, "/admin/")
    assert project.calls == 2


def test_the_atom_feed_is_answered_from_the_cache_too(route, built_page):
    application, project = route
    rendered = call(application, "/status/eleva/feed.atom")

    cached = call(application, "/status/eleva/feed.atom")

    assert project.calls == 1 and cached[2] == rendered[2] and b"<feed" in cached[2]
    assert cached[1]["Content-Type"] == "application/atom+xml; charset=utf-8"
