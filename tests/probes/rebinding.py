"""Stand-ins for a DNS zone that rebinds, for the tests that a connection goes to the one
address the private-address guard vetted (probes and alert deliveries alike).

A zone lives outside this machine, so the system resolver is replaced for its names alone
(every other name still resolves for real). Where the zone's names are served over TLS,
two real receivers share one port: the one at the vetted address has a certificate for
the name only; the one at the rebound address has one for the name and another, so a
client that followed a second lookup would succeed there, and be seen.
"""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from tests.probes.certificates import TestAuthority
from tests.probes.servers import ServerLoop, TlsReceiver


def zone_resolver(monkeypatch, names: tuple[str, ...], *, first: str, later: str | None = None) -> list[str]:
    """Answers ``first`` for ``names`` on the first lookup, ``later`` (if given) on every one
    after. Returns the list of those names looked up so far (it grows as the test runs)."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return real(first if len(asked) == 1 or later is None else later, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@contextmanager
def vetted_and_rebound(
    server_loop: ServerLoop, authority: TestAuthority, *, name: str, other: str, vetted: str, rebound: str
) -> Iterator[tuple[TlsReceiver, TlsReceiver]]:
    """``(vetted, rebound)``: a TLS receiver at ``vetted`` with a certificate for ``name``
    only, and one at ``rebound``, same port, with a certificate for ``name`` and ``other``."""
    not_after = datetime.now(UTC) + timedelta(days=30)
    first = TlsReceiver(server_loop, authority.issue(not_after=not_after, hosts=(name,)), host=vetted)
    try:
        second = TlsReceiver(
            server_loop, authority.issue(not_after=not_after, hosts=(name, other)), host=rebound, port=first.port
        )
    except BaseException:
        first.close()
        raise
    try:
        yield first, second
    finally:
        first.close()
        second.close()
