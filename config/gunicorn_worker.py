"""gunicorn's threaded worker with a deadline for each request's head.

gthread hands a connection to a thread as soon as its socket is readable, and that
thread then blocks until the request line and headers are complete. A client that
sends a header line every few seconds (slowloris) holds the thread as long as it likes;
a few dozen such clients hold them all. gunicorn has no setting for this, so the
worker arms ``PHAROS_HEADER_TIMEOUT`` (config.deadlines) when it starts reading a
request — which also covers discarding an unread body left by the previous request on
a kept-alive connection — and disarms it once the head is parsed. Past it, the socket is
shut for reading and gunicorn closes the connection as a client that went away.

The body is then config.edge's business (``PHAROS_REQUEST_BODY_TIMEOUT``).
"""

from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from config import deadlines
from config.env import env_float

HEADER_TIMEOUT = env_float("PHAROS_HEADER_TIMEOUT", 10.0, minimum=0.1)


class DeadlineThreadWorker(ThreadWorker):
    def handle(self, conn: Any) -> Any:
        conn.head_deadline = deadlines.arm(conn.sock, HEADER_TIMEOUT)
        try:
            return super().handle(conn)
        finally:
            conn.head_deadline.disarm()

    def handle_request(self, req: Any, conn: Any) -> Any:
        # The head is in: the application's own reads have their own deadline.
        conn.head_deadline.disarm()
        return super().handle_request(req, conn)
