"""What every channel kind shares: the delivery it is handed and the errors it may raise.

A handler either returns (the provider accepted the message) or raises a DeliveryError
saying whether trying again could help. The delivery task turns that into a retry with
backoff or a permanent failure an operator sees in the admin.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from probes.guard import forbidden_reason, literal_address, numeric_host_form


class DeliveryError(Exception):
    permanent = False

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class TransientError(DeliveryError):
    """The provider may accept the same message later: 5xx, 429, timeouts, refused connections."""

    permanent = False


class PermanentError(DeliveryError):
    """Sending the same message again cannot succeed: 4xx, a rejected address, no configuration."""

    permanent = True


@dataclass(frozen=True)
class Delivery:
    """One notification as a handler sees it: the rendered message and where it goes.

    ``address`` is the person's email or phone for person deliveries; channel deliveries
    read their destination from ``config`` and ``secrets``.
    """

    notification_id: int
    kind: str
    message: object  # alerts.messages.Message
    address: str = ""
    config: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict)


def names_private_host(url):
    """True when the URL's host is literally loopback or private (names are checked at send time).

    The rules are the probes' (probes.guard), so 6to4, NAT64, site-local and CGNAT
    addresses are judged the same way for a channel as for a monitor.
    """
    from django.conf import settings

    if settings.PHAROS_ALLOW_PRIVATE_TARGETS:
        return False
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    literal = literal_address(host)
    return literal is not None and forbidden_reason(literal) is not None


def names_numeric_host(url):
    """True when the URL's host is an IPv4 address spelled as a number (``http://2130706433/``)."""
    try:
        return numeric_host_form(urlsplit(url).hostname or "")
    except ValueError:
        return False


@dataclass(frozen=True)
class Field:
    """A configuration value a channel kind accepts, with its type for validation."""

    name: str
    type: type = str
    required: bool = False
    url: bool = False


class ChannelHandler:
    """Base class of a channel kind: declare fields, implement ``send``."""

    kind = ""
    config_fields: tuple = ()
    secret_fields: tuple = ()

    def validate(self, config, secrets):
        """Errors by attribute name (``config.url``, ``secrets.bot_token``); empty when valid."""
        errors = {}
        for where, fields, values in (("config", self.config_fields, config), ("secrets", self.secret_fields, secrets)):
            if not isinstance(values, dict):
                errors[where] = ["must be an object"]
                continue
            known = {f.name for f in fields}
            for name in values:
                if name not in known:
                    errors.setdefault(f"{where}.{name}", []).append(f"is not a {self.kind} setting")
            for f in fields:
                value = values.get(f.name)
                if value in (None, "", [], {}):
                    if f.required:
                        errors.setdefault(f"{where}.{f.name}", []).append("is required")
                    continue
                if not isinstance(value, f.type):
                    errors.setdefault(f"{where}.{f.name}", []).append(f"must be a {f.type.__name__}")
                elif f.url and not value.startswith(("http://", "https://")):
                    errors.setdefault(f"{where}.{f.name}", []).append("must be an http(s) URL")
                elif f.url and names_numeric_host(value):
                    errors.setdefault(f"{where}.{f.name}", []).append(
                        "spells an IPv4 address as a number; write it as a.b.c.d"
                    )
                elif f.url and names_private_host(value):
                    errors.setdefault(f"{where}.{f.name}", []).append(
                        "points at a private address (allowed only with PHAROS_ALLOW_PRIVATE_TARGETS)"
                    )
        errors.update(
            self.validate_more(config if isinstance(config, dict) else {}, secrets if isinstance(secrets, dict) else {})
        )
        return errors

    def validate_more(self, config, secrets):
        return {}

    def destination(self, delivery: Delivery) -> str:
        """Where a delivery goes, for the sender's per-destination cap: the origin
        (scheme, host, port) of the kind's URL setting, or the kind itself for kinds that
        talk to one provider (PagerDuty, Telegram, SMS) or the SMTP server."""
        for where, fields in ((delivery.config, self.config_fields), (delivery.secrets, self.secret_fields)):
            for f in fields:
                value = where.get(f.name) if f.url else None
                if isinstance(value, str):
                    try:
                        parts = urlsplit(value)
                        return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"
                    except ValueError:
                        break
        return self.kind

    async def send(self, delivery: Delivery) -> None:
        """Hand the message to the provider; raise a DeliveryError when it was not accepted."""
        raise NotImplementedError
