"""UDP monitors: send ``request_body`` to each port, expect ``required_keyword`` back."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

from probes.datagram import exchange
from probes.failures import TargetDown, classify
from probes.guard import resolve
from probes.spec import DOWN
from probes.targets import port_cause, ports_of

if TYPE_CHECKING:
    from probes.runner import ProbeContext
    from probes.spec import CheckSpec, Outcome
    from probes.timing import Trace


async def probe_udp(spec: CheckSpec, context: ProbeContext, trace: Trace, outcome: Outcome) -> None:
    """Up when every port answers with a datagram containing the keyword (any datagram
    when the monitor sets none). No answer is a timeout; an ICMP port-unreachable is
    "Connection refused"."""
    host, ports = ports_of(spec)
    loop = asyncio.get_running_loop()
    trace.enter("name_lookup")
    addresses = await resolve(
        loop,
        host,
        ports[0],
        ip_version=spec.ip_version,
        policy=context.address_policy,
        kind=socket.SOCK_DGRAM,
    )
    keyword = spec.keyword.encode()
    for port in ports:
        try:
            reply = await exchange(loop, addresses[0], port, spec.body.encode(), trace)
        except OSError as exc:
            status, cause = classify(exc)
            if status != DOWN or isinstance(exc, TimeoutError):
                raise
            raise TargetDown(port_cause(cause, port, ports)) from None
        if keyword and keyword not in reply:
            raise TargetDown(port_cause(f'Keyword "{spec.keyword}" not found', port, ports), excerpt=reply)
