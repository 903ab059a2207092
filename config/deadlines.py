"""Deadlines for reading from slow clients: one watcher thread per web process.

A blocking ``recv`` ends when bytes arrive or its socket timeout passes — per call. A
client that sends one byte every few seconds keeps such a read alive indefinitely, and in
a threaded gunicorn worker that read holds one of the process's few threads. So a
deadline here bounds the *whole* read: when it passes, the watcher shuts the socket's
receiving side down, which wakes the blocked ``recv`` at once with end-of-file; the reader
then sees ``expired`` and answers (or drops the connection) instead of waiting longer.

Shutting down only the receiving side leaves the sending side open, so the 408 answer
still reaches the client; the connection is not kept alive afterwards.
"""

import heapq
import itertools
import logging
import socket
import threading
import time

log = logging.getLogger(__name__)


class Deadline:
    """One armed deadline; ``disarm()`` when the read finished in time."""

    __slots__ = ("at", "sock", "expired", "_done")

    def __init__(self, at: float, sock: socket.socket) -> None:
        self.at = at
        self.sock = sock
        self.expired = False
        self._done = False

    def disarm(self) -> None:
        with _lock:
            self._done = True

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def _expire(self) -> None:
        # Under _lock: a read that disarmed just before us keeps its socket whole.
        if self._done:
            return
        self._done = True
        self.expired = True
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass  # the client left already


_lock = threading.Lock()
_wakeup = threading.Condition(_lock)
_heap: list[tuple[float, int, Deadline]] = []
_sequence = itertools.count()
_watcher: threading.Thread | None = None


def arm(sock: socket.socket, seconds: float) -> Deadline:
    """Shut ``sock``'s receiving side down ``seconds`` from now unless disarmed first."""
    global _watcher
    deadline = Deadline(time.monotonic() + seconds, sock)
    with _lock:
        heapq.heappush(_heap, (deadline.at, next(_sequence), deadline))
        if _watcher is None or not _watcher.is_alive():
            # Started lazily, in the process that reads: gunicorn forks its workers after
            # loading the configuration, and a thread does not survive a fork.
            _watcher = threading.Thread(target=_watch, name="pharos-read-deadlines", daemon=True)
            _watcher.start()
        elif _heap[0][2] is deadline:
            _wakeup.notify()
    return deadline


def _watch() -> None:
    with _lock:
        while True:
            now = time.monotonic()
            while _heap and (_heap[0][2]._done or _heap[0][0] <= now):
                _, _, deadline = heapq.heappop(_heap)
                if not deadline._done:
                    deadline._expire()
                    log.debug("a client read passed its deadline; its socket was shut for reading")
            _wakeup.wait(timeout=_heap[0][0] - now if _heap else None)
