"""Why a check failed, in the words users read on an incident.

Probes raise ``TargetDown`` when the target failed the monitor's expectation and
``ProbeError`` when the probe itself could not judge (a forbidden address, the worker out
of file descriptors or shutting down). Everything else a probe can raise is an ``OSError``
or ``ssl.SSLError`` from the network, which ``classify`` turns into a status and a cause.
"""

import errno
import socket
import ssl

from probes.spec import DOWN, ERROR

# Errors that say "this worker is short of something", not "the target is broken": a DOWN
# vote from an exhausted worker would count against a healthy target.
LOCAL_RESOURCE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.EADDRNOTAVAIL}

X509_V_ERR_CERT_HAS_EXPIRED = 10

NETWORK_CAUSES = {
    errno.ECONNREFUSED: "Connection refused",
    errno.ECONNRESET: "Connection reset",
    errno.ECONNABORTED: "Connection aborted",
    errno.EPIPE: "Connection closed",
    errno.ENETUNREACH: "Network unreachable",
    errno.EHOSTUNREACH: "Host unreachable",
    errno.EHOSTDOWN: "Host down",
}


class ProbeFailure(Exception):
    status = DOWN

    def __init__(self, cause: str, *, excerpt: bytes | str = b"") -> None:
        super().__init__(cause)
        self.cause = cause
        self.excerpt = excerpt


class TargetDown(ProbeFailure):
    status = DOWN


class ProbeError(ProbeFailure):
    status = ERROR


def timeout_cause(seconds: float) -> str:
    return f"Timeout after {seconds:g} s"


def classify(exc: BaseException) -> tuple[str, str]:
    """(status, cause) for an exception raised by the network layer."""
    if isinstance(exc, ProbeFailure):
        return exc.status, exc.cause
    if isinstance(exc, socket.gaierror):
        return DOWN, "DNS lookup failed"
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code == X509_V_ERR_CERT_HAS_EXPIRED:
            return DOWN, "TLS certificate expired"
        return DOWN, f"TLS certificate invalid: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return DOWN, f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, OSError):
        if exc.errno in LOCAL_RESOURCE_ERRNOS:
            return ERROR, f"Probe out of resources: {exc.strerror or exc}"
        if exc.errno in NETWORK_CAUSES:
            return DOWN, NETWORK_CAUSES[exc.errno]
        if isinstance(exc, ConnectionError):
            return DOWN, "Connection closed"
        return DOWN, exc.strerror or str(exc) or type(exc).__name__
    return ERROR, f"Probe failed: {type(exc).__name__}: {exc}"
