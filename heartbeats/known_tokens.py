"""Is this ping token one of ours? Asked before a ping's body is read.

Anyone can send ``POST /api/v1/heartbeat/<anything>`` with a large Content-Length and
trickle the body; reading that body first held a web thread per connection for as long
as the sender liked, without any valid token. So a ping with a body is answered 404 at
once when its token is unknown, and only a known token earns the read.

Pings without a body (most of them: ``curl -fsS <url>``) skip the question and keep their
one statement. Known tokens are remembered per process (bounded, least recently used
first out), so a job that sends its output on every run pays the lookup once. A token
remembered after its heartbeat was deleted costs nothing: ``record_ping`` still finds no
row and the ping is a 404 — after reading a body the sender was entitled to send before.
"""

from collections import OrderedDict
from threading import Lock

from heartbeats.models import Heartbeat

REMEMBERED = 10_000

_known: OrderedDict[str, None] = OrderedDict()
_lock = Lock()


def is_known_token(token: str) -> bool:
    with _lock:
        if token in _known:
            _known.move_to_end(token)
            return True
    if not Heartbeat.objects.filter(token=token).exists():
        return False
    with _lock:
        _known[token] = None
        if len(_known) > REMEMBERED:
            _known.popitem(last=False)
    return True


def forget_known_tokens() -> None:
    """For tests that delete heartbeats and reuse their tokens."""
    with _lock:
        _known.clear()
