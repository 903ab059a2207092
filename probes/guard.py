"""Name resolution with the private-address guard.

Unless the worker runs with ``PHAROS_ALLOW_PRIVATE_TARGETS`` on, a check may not reach
loopback, private, link-local, multicast, reserved or unspecified addresses: a monitor is
written by a customer, and the worker sits inside our network. The guard judges the
*resolved* address the probe is about to connect to, never the name, so a public name
that resolves inside (DNS rebinding) is refused too; HTTP checks pass through here again
on every redirect hop because each hop opens its own connection.

Addresses that lead elsewhere are judged by where they lead: 6to4 and NAT64 addresses by
the IPv4 address they carry; Teredo, local-use NAT64 and site-local ``fec0::/10`` are never
public, nor is carrier-grade NAT space. Hosts that spell an IPv4 address as a number
(``2130706433``, ``0x7f000001``, ``127.1``) are refused whatever the policy
(``numeric_host_form``); monitors.validation and the channels refuse them at create time.
"""

import asyncio
import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from typing import cast

from probes.failures import ProbeError, TargetDown

TRUE_WORDS = {"1", "true", "yes", "on"}

FAMILIES = {"": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


def private_targets_allowed_by_environment() -> bool:
    return os.environ.get("PHAROS_ALLOW_PRIVATE_TARGETS", "").strip().lower() in TRUE_WORDS


def allowed_networks_from_environment() -> list[str]:
    """``PHAROS_ALLOWED_NETWORKS``: comma-separated networks the guard lets through anyway."""
    return [part.strip() for part in os.environ.get("PHAROS_ALLOWED_NETWORKS", "").split(",") if part.strip()]


# Special-purpose IPv6 ranges whose meaning the ipaddress module's is_global misses (it
# calls 6to4, site-local and well-known-prefix NAT64 addresses global). Each either carries
# an IPv4 address a relay or translator will connect to, or was never meant to leave a site.
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")  # RFC 3056: 2002:AABB:CCDD:: carries A.B.C.D
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: an operator's own translator
TEREDO = ipaddress.ip_network("2001::/32")  # RFC 4380: a tunnel whose far end we cannot judge
SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # RFC 3879: deprecated, still routed inside sites
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598: carrier-grade NAT


def forbidden_reason(address: str) -> str | None:
    """Why ``address`` may not be probed, or None when it is a public address."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it carries.
            ip = ip.ipv4_mapped
        else:
            reason = _ipv6_tunnel_reason(ip)
            if reason is not None:
                return reason or None
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.version == 4 and ip in SHARED_ADDRESS_SPACE:
        return "carrier-grade NAT"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def _ipv6_tunnel_reason(ip: ipaddress.IPv6Address) -> str | None:
    """The verdict on an IPv6 address that tunnels or translates to somewhere else.

    None when ``ip`` is none of those (judge it as it is); "" when it is one whose embedded
    IPv4 address is public (allowed); otherwise the reason to refuse it.
    """
    if ip in SITE_LOCAL:
        return "site-local"
    if ip in TEREDO:
        return "Teredo"
    if ip in NAT64_LOCAL_USE:
        return "local-use NAT64"
    embedded: ipaddress.IPv4Address | None = None
    if ip in SIX_TO_FOUR:
        embedded = ip.sixtofour
    elif ip in NAT64_WELL_KNOWN:
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if embedded is None:
        return None
    inner = forbidden_reason(str(embedded))
    kind = "6to4" if ip in SIX_TO_FOUR else "NAT64"
    return f"{inner} ({kind} for {embedded})" if inner else ""


class AddressPolicy:
    """Which addresses checks may reach.

    ``allow_private``: the worker's PHAROS_ALLOW_PRIVATE_TARGETS (None reads it from the
    environment). ``allowed_networks``: exceptions to the guard while it is on, e.g. an
    operator's own service network, or the one loopback address a test server listens on
    (None reads PHAROS_ALLOWED_NETWORKS). Probes and alert channels share this one policy.
    """

    def __init__(self, *, allow_private: bool | None = None, allowed_networks: Iterable[str] | None = None) -> None:
        self.allow_private = private_targets_allowed_by_environment() if allow_private is None else allow_private
        if allowed_networks is None:
            allowed_networks = allowed_networks_from_environment()
        self.allowed_networks = tuple(ipaddress.ip_network(network) for network in allowed_networks)

    def check(self, address: str) -> None:
        """Raise ProbeError when ``address`` may not be probed."""
        if self.allow_private:
            return
        reason = forbidden_reason(address)
        if reason and not self._excepted(address):
            raise ProbeError(f"Target address {address} is {reason}: private targets are not allowed")

    def _excepted(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip.version == network.version and ip in network for network in self.allowed_networks)


def literal_address(host: str) -> str | None:
    """The IP address ``host`` spells (in canonical form), or None for a name."""
    text = host.strip("[]").split("%", 1)[0]
    # inet_pton rather than ipaddress: this runs for every check and is 20x cheaper.
    try:
        socket.inet_pton(socket.AF_INET, text)
        return text if text.count(".") == 3 else None
    except OSError:
        pass
    try:
        return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text))
    except OSError:
        return None


NUMBER_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
CANONICAL_IPV4 = re.compile(
    r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$"
)


def numeric_host_form(host: str) -> bool:
    """True when ``host`` is a number the resolver would read as an IPv4 address, other
    than a plain dotted quad: ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``.

    inet_aton (which getaddrinfo and browsers follow) reads decimal, octal and hex parts
    and fills missing ones, so each of those is 127.0.0.1. A name whose last label is a
    number cannot be a DNS name (no top-level domain is numeric), so we refuse the whole
    family instead of chasing its spellings: a check of the name would see "a name" while
    the connection goes to the address.
    """
    name = host.strip("[]").rstrip(".")
    if not name or ":" in name:
        return False
    last = name.rsplit(".", 1)[-1]
    return bool(NUMBER_LABEL.match(last)) and not CANONICAL_IPV4.match(name)


HOSTNAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def valid_hostname(host: str) -> bool:
    # Checked before asking the resolver so a malformed name fails here, without traffic.
    # Internationalised names arrive IDNA-encoded (xn--…), so ASCII is all we accept.
    if not host or len(host) > 253:
        return False
    labels = host.rstrip(".").split(".")
    return all(0 < len(label) <= 63 and HOSTNAME_CHARACTERS.issuperset(label) for label in labels)


async def resolve(
    loop: asyncio.AbstractEventLoop,
    host: str,
    port: int | str | None,
    *,
    policy: AddressPolicy,
    ip_version: str = "",
    kind: int = socket.SOCK_STREAM,
) -> list[str]:
    """The addresses to try for ``host``, in resolver order, each one allowed by the guard.

    Raises TargetDown("DNS lookup failed") when the name has no address of the wanted
    family and ProbeError when any address it resolves to is forbidden: a name pointing
    inside is refused as a whole rather than filtered, so a probe never half-trusts it.
    """
    family = FAMILIES.get(ip_version, socket.AF_UNSPEC)
    literal = literal_address(host)
    if literal is not None:
        version = 6 if ":" in literal else 4
        if (family == socket.AF_INET and version != 4) or (family == socket.AF_INET6 and version != 6):
            raise TargetDown(f"DNS lookup failed (no {ip_version.replace('ip', 'IP')} address)")
        policy.check(literal)
        return [literal]
    if numeric_host_form(host):
        raise ProbeError(f"Target host {host} is a numeric address form; write IPv4 addresses as a.b.c.d")
    if not valid_hostname(host):
        raise TargetDown("DNS lookup failed")
    try:
        infos = await loop.getaddrinfo(host, port, family=family, type=kind)
    except socket.gaierror:
        raise TargetDown("DNS lookup failed") from None
    # An AF_INET/AF_INET6 sockaddr starts with the address as text (typeshed allows int for AF_CAN).
    addresses = list(dict.fromkeys(cast(str, info[4][0]) for info in infos))
    if not addresses:
        raise TargetDown("DNS lookup failed")
    for address in addresses:
        policy.check(address)
    return addresses
