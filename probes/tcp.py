"""TCP monitors: every listed port must accept a connection."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from probes.connection import open_connection
from probes.failures import TargetDown, classify
from probes.guard import resolve
from probes.spec import DOWN
from probes.targets import port_cause, ports_of

if TYPE_CHECKING:
    from probes.runner import ProbeContext
    from probes.spec import CheckSpec, Outcome
    from probes.timing import Trace


async def probe_tcp(spec: CheckSpec, context: ProbeContext, trace: Trace, outcome: Outcome) -> None:
    host, ports = ports_of(spec)
    loop = asyncio.get_running_loop()
    trace.enter("name_lookup")
    addresses = await resolve(loop, host, ports[0], ip_version=spec.ip_version, policy=context.address_policy)
    for port in ports:
        try:
            connection = await open_connection(loop, addresses, port, trace)
        except OSError as exc:
            status, cause = classify(exc)
            if status != DOWN:
                raise
            raise TargetDown(port_cause(cause, port, ports)) from None
        connection.close()
