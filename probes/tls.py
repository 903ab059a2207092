"""TLS for probes: the shared client contexts and what a certificate says about expiry.

Building an SSLContext costs ~17 ms of CPU (loading the CA bundle), so a worker builds
two once — verifying and not verifying — and every check shares them. Sessions are never
resumed (asyncio does not reuse them unless asked), so each check's handshake is fresh.
"""

from __future__ import annotations

import functools
import math
import ssl
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509

from probes.failures import TargetDown

if TYPE_CHECKING:
    from probes.timing import Trace


def client_context(*, verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    if verify:
        context = ssl.create_default_context(cafile=ca_file or default_ca_file())
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def default_ca_file() -> str | None:
    try:
        import certifi
    except ImportError:  # the system store then, through create_default_context
        return None
    where: str = certifi.where()
    return where


def record_certificate(trace: Trace, ssl_object: ssl.SSLObject | None) -> None:
    """Note the peer certificate's expiry and issuer on ``trace``.

    Read from the DER form so a check with ``verify_ssl`` off (where ``getpeercert()``
    returns nothing) still reports the certificate it was shown.
    """
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return
    trace.tls_not_after, trace.tls_expires_at, trace.tls_issuer = certificate_facts(der)


@functools.lru_cache(maxsize=4096)
def certificate_facts(der: bytes) -> tuple[datetime, str, str]:
    """(not_after, its ISO text, issuer) of a DER certificate. Cached by the certificate's
    bytes: a site shows every check the same certificate, and parsing costs ~60 us."""
    certificate = x509.load_der_x509_certificate(der)
    not_after = certificate.not_valid_after_utc
    return not_after, not_after.isoformat(), certificate.issuer.rfc4514_string()


# Every cause check_expiry gives starts so: the central state machine files such an
# outage as a certificate incident (Incident.kind) by it.
EXPIRY_CAUSE_PREFIX = "TLS certificate expire"


def check_expiry(trace: Trace, warn_days: int | None, *, now: datetime | None = None) -> None:
    """Raise TargetDown when the certificate seen has expired or expires within ``warn_days``.

    ``warn_days`` is the monitor's ``ssl_expiration``; None means the monitor does not
    watch expiry (an expired certificate then fails only through verification). Days are
    whole days left, rounded up, so a certificate with 2 days 23 hours left "expires in 3 days".
    """
    if warn_days is None or trace.tls_not_after is None:
        return
    now = now or datetime.now(UTC)
    left = (trace.tls_not_after - now).total_seconds()
    if left <= 0:
        raise TargetDown(f"{EXPIRY_CAUSE_PREFIX}d")
    days = math.ceil(left / 86400)
    if days <= warn_days:
        raise TargetDown(f"{EXPIRY_CAUSE_PREFIX}s in {days} day{'s' if days != 1 else ''}")
