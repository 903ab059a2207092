"""A lean WSGI route for the ping URL: Django's own handler, without the middleware.

The ping needs none of it — no session, no user, no CSRF (the token is the secret), no
messages, no static files, no clickjacking header on a text/plain "OK" — and on this, the
hottest path, the middleware chain was about a third of the CPU a ping costs. URL
resolution is one regular expression (the one heartbeats/urls.py registers) instead of a
walk through every pattern of the project. Everything else Django's handler does stays:
the request_started/finished signals that recycle database connections (CONN_MAX_AGE),
error responses and logging. The Host header is not checked against ALLOWED_HOSTS here
(CommonMiddleware does that elsewhere): the ping builds no URL from it.

Pings on this route may also be group-committed (heartbeats.ping_batch): the route marks
the request, and the view hands a success to the worker's writer thread.

config/wsgi.py wraps the project's application with ``with_lean_ping_route``.
"""

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.urls import ResolverMatch

from heartbeats.ping_batch import GROUP_COMMIT_KEY

PING_PREFIX = "/api/v1/heartbeat/"


class PingHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def resolve_request(self, request):
        # One regular expression instead of a walk through the project's URL patterns
        # (admin first): a sixth of a ping's CPU. Anything else still resolves normally.
        from heartbeats import views
        from heartbeats.urls import PING_PATH

        match = PING_PATH.match(request.path_info)
        if match is None:
            return super().resolve_request(request)
        kwargs = {name: value for name, value in match.groupdict().items() if value is not None}
        request.resolver_match = ResolverMatch(
            views.ping, (), kwargs, url_name="heartbeat-ping", route=PING_PATH.pattern
        )
        return request.resolver_match


def with_lean_ping_route(application):
    """``application``, except that ping URLs go to a middleware-free handler."""
    pings = PingHandler()

    def dispatch(environ, start_response):
        if environ.get("PATH_INFO", "").startswith(PING_PREFIX):
            environ[GROUP_COMMIT_KEY] = True
            return pings(environ, start_response)
        return application(environ, start_response)

    dispatch.pings = pings
    dispatch.application = application
    return dispatch
