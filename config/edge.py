"""The WSGI edge: what every request passes through before Django sees it.

``with_web_edge(application)`` (config/wsgi.py wraps the whole project with it):

1. **Request bodies are read under a deadline** (``PHAROS_REQUEST_BODY_TIMEOUT`` seconds
   from the first read). A client announcing ``Content-Length: 100000`` and sending a
   byte now and then used to hold a web thread for as long as it liked; ten of them held
   every thread and ``/api/healthcheck`` timed out. Past the deadline the read ends
   (config.deadlines wakes it even mid-``recv``), the request is answered ``408`` and
   the connection closed, whatever the view would have said.
2. **HEAD answers carry no body.** gunicorn sends whatever the application returns; a
   body after a HEAD answer is read by a keep-alive client as the start of the next
   response.

The buffering reverse proxy in front of gunicorn in production (deploy/nginx/) keeps
slow clients away from the threads in the first place; this edge is what still holds
when Pharos is exposed without one (the quick start, a misconfigured proxy).
"""

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import BadRequest

from config import deadlines

log = logging.getLogger(__name__)

TIMED_OUT_KEY = "pharos.body_timed_out"
API_PREFIX = "/api/"
PING_PREFIX = "/api/v1/heartbeat/"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestBodyTimeout(BadRequest):
    """The client did not send its body within PHAROS_REQUEST_BODY_TIMEOUT seconds.

    A BadRequest, not an OSError: Django would turn an OSError into UnreadablePostError
    and a logged 500; this way the view gives up quietly and the edge answers 408.
    """


class DeadlineInput:
    """``wsgi.input`` whose reads together end by one deadline, armed at the first read.

    Under gunicorn the deadline can interrupt a blocked read (it shuts the socket down);
    elsewhere (the test client, other servers) it is checked between reads.
    """

    def __init__(self, stream: Any, environ: dict[str, Any], seconds: float) -> None:
        self.stream = stream
        self.environ = environ
        self.seconds = seconds
        self.started_at: float | None = None
        self.deadline: deadlines.Deadline | None = None
        self.reads = 0
        self.received = 0

    def _before(self) -> None:
        if self.started_at is None:
            self.started_at = time.monotonic()
            sock = self.environ.get("gunicorn.socket")
            if sock is not None:
                self.deadline = deadlines.arm(sock, self.seconds)
        elif time.monotonic() - self.started_at > self.seconds:
            self._timed_out()

    def _read(self, method: Callable[..., Any], argument: int) -> Any:
        self._before()
        self.reads += 1
        try:
            data = method(argument)
        except OSError:
            # A chunked body cut short by the deadline ends in gunicorn's NoMoreData.
            if self._expired():
                self._timed_out()
            raise
        if self._expired():
            self._timed_out()
        self.received += len(data) if isinstance(data, bytes) else sum(len(line) for line in data)
        return data

    def left_unread(self) -> bool:
        """Whether the client announced (or started) a body that was not read to its end."""
        try:
            announced = int(self.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return True
        if announced:
            return self.received < announced
        chunked = "chunked" in self.environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        return chunked and self.reads == 0

    def _expired(self) -> bool:
        late = self.started_at is not None and time.monotonic() - self.started_at > self.seconds
        return late or (self.deadline is not None and self.deadline.expired)

    def _timed_out(self) -> None:
        self.environ[TIMED_OUT_KEY] = True
        raise RequestBodyTimeout(f"request body not received within {self.seconds:g} s")

    def read(self, size: int = -1) -> bytes:
        return self._read(self.stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._read(self.stream.readline, size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self._read(self.stream.readlines, hint)

    def __iter__(self):
        return iter(self.readline, b"")

    def finish(self) -> None:
        if self.deadline is not None:
            self.deadline.disarm()


def with_web_edge(application: WSGIApp, *, body_timeout: float | None = None) -> WSGIApp:
    """``application`` behind the edge rules above (``body_timeout`` defaults to the setting)."""

    def edge(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seconds = body_timeout if body_timeout is not None else _setting_body_timeout()
        body = DeadlineInput(environ["wsgi.input"], environ, seconds)
        environ["wsgi.input"] = body
        answered: list[Any] = []

        def hold_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Held back until the application returns: if the body timed out meanwhile,
            # the 408 replaces whatever the view made of a half-read body.
            answered[:] = [status, headers, exc_info]
            return _no_write

        try:
            result = application(environ, hold_start_response)
        finally:
            body.finish()
        if environ.get(TIMED_OUT_KEY) or body.left_unread():
            # Keeping the connection would make the server drain the rest of the body
            # before the next request, for as long as the client takes to send it.
            _close_connection_after(start_response)
        if environ.get(TIMED_OUT_KEY):
            _close(result)
            log.info(
                "request body for %s %s not received within %g s; answered 408",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                seconds,
            )
            return _request_timeout(environ, start_response)
        start_response(*answered)
        if environ.get("REQUEST_METHOD") == "HEAD":
            _close(result)
            return [b""]
        return result

    edge.application = application  # type: ignore[attr-defined]
    return edge


def _setting_body_timeout() -> float:
    from django.conf import settings

    return float(settings.PHAROS_REQUEST_BODY_TIMEOUT)


def _close_connection_after(start_response: Callable[..., Any]) -> None:
    # gunicorn drops a Connection header the application sets (it is hop-by-hop); its
    # response object, whose method start_response is, can be told to close instead.
    server_response = getattr(start_response, "__self__", None)
    force_close = getattr(server_response, "force_close", None)
    if force_close is not None:
        force_close()


def _no_write(data: bytes) -> None:
    raise RuntimeError("Pharos answers through the returned iterable, not write()")


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


def _request_timeout(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    if path.startswith(API_PREFIX) and not path.startswith(PING_PREFIX):
        content_type, body = "application/json", json.dumps({"errors": "Request Timeout"}).encode()
    else:
        content_type, body = "text/plain; charset=utf-8", b"Request Timeout"
    headers = [("Content-Type", content_type), ("Connection", "close")]
    if environ.get("REQUEST_METHOD") == "HEAD":
        body = b""
    headers.append(("Content-Length", str(len(body))))
    start_response("408 Request Timeout", headers)
    return [body]
