"""Reading hosts and ports out of a spec's ``target`` for the non-HTTP monitor types."""

from collections.abc import Sequence

from probes.failures import ProbeError
from probes.spec import CheckSpec


def split_host_port(target: str) -> tuple[str, int | None]:
    """(host, port or None) from ``host``, ``host:port``, ``[v6]:port``, bare v6 or a URL."""
    text = target.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""  # a name, or an IPv6 literal without brackets
    if not host:
        raise ProbeError(f"Invalid target {target!r}: no host")
    return host, parse_port(port, target) if port else None


def parse_port(value: object, target: str = "") -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ProbeError(f"Invalid port {value!r} in {target!r}") from None
    if not 0 < port < 65536:
        raise ProbeError(f"Invalid port {port} in {target!r}")
    return port


def ports_of(spec: CheckSpec, *, default: int | None = None) -> tuple[str, list[int]]:
    """The ports to check: ``spec.ports`` (ints, or strings such as "25,465"), else the
    port in the target, else ``default``."""
    ports: list[int] = []
    for item in spec.ports:
        for piece in str(item).split(","):
            if piece.strip():
                ports.append(parse_port(piece, spec.target))
    host, target_port = split_host_port(spec.target)
    if not ports and target_port:
        ports = [target_port]
    if not ports and default:
        ports = [default]
    if not ports:
        raise ProbeError(f"No port to check for {spec.target!r}")
    return host, ports


def port_cause(cause: str, port: int, ports: Sequence[int]) -> str:
    return f"Port {port}: {cause}" if len(ports) > 1 else cause
