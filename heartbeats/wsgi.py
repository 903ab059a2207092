"""A lean WSGI route for the ping URL: Django's own handler, without the middleware.

The ping needs none of it — no session, no user, no CSRF (the token is the secret), no
messages, no static files, no clickjacking header on a text/plain "OK" — and on this the
hottest path the middleware chain is about a third of the CPU a ping costs. Everything
else Django's handler does stays: URL resolution through ROOT_URLCONF, the
request_started/finished signals that recycle database connections (CONN_MAX_AGE),
error responses and logging. The Host header is not checked against ALLOWED_HOSTS here
(CommonMiddleware does that elsewhere): the ping builds no URL from it.

config/wsgi.py wraps the project's application with ``with_lean_ping_route``.
"""

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler

PING_PREFIX = "/api/v1/heartbeat/"


class PingHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)


def with_lean_ping_route(application):
    """``application``, except that ping URLs go to a middleware-free handler."""
    pings = PingHandler()

    def dispatch(environ, start_response):
        if environ.get("PATH_INFO", "").startswith(PING_PREFIX):
            return pings(environ, start_response)
        return application(environ, start_response)

    dispatch.pings = pings
    dispatch.application = application
    return dispatch
