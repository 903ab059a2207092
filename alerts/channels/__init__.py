"""The one registry of channel kinds: a kind not listed here cannot be saved or sent.

``handler_for(kind)`` is the delivery task's lookup; ``validate(kind, config, secrets)``
is the API's and the admin's, so both accept exactly what delivery understands.
"""

from alerts.channels.base import ChannelHandler, DeliveryError, PermanentError, TransientError
from alerts.channels.email import EmailHandler
from alerts.channels.ntfy import NtfyHandler
from alerts.channels.pagerduty import PagerDutyHandler
from alerts.channels.slack import SlackHandler
from alerts.channels.teams import TeamsHandler
from alerts.channels.telegram import TelegramHandler
from alerts.channels.twilio import CallHandler, SmsHandler
from alerts.channels.webhook import WebhookHandler

REGISTRY = {
    handler.kind: handler
    for handler in (
        EmailHandler(),
        SmsHandler(),
        CallHandler(),
        WebhookHandler(),
        SlackHandler(),
        TeamsHandler(),
        PagerDutyHandler(),
        TelegramHandler(),
        NtfyHandler(),
    )
}

# Policy step member types that name a kind of channel (docs/api.md uses Better Stack's names);
# without an ``id`` they mean every enabled team channel of that kind.
MEMBER_TYPE_KINDS = {
    "webhook": "webhook",
    "slack_integration": "slack",
    "microsoft_teams_integration": "teams",
    "teams_integration": "teams",
    "pagerduty_integration": "pagerduty",
    "telegram_integration": "telegram",
    "ntfy_integration": "ntfy",
    "email_integration": "email",
}


class UnknownChannelKind(LookupError):
    pass


def handler_for(kind):
    try:
        return REGISTRY[kind]
    except KeyError:
        raise UnknownChannelKind(f"unknown channel kind {kind!r}") from None


def validate(kind, config, secrets):
    """Errors by attribute (``kind``, ``config.url``, ``secrets.bot_token``); empty when valid."""
    if kind not in REGISTRY:
        return {"kind": [f"must be one of {', '.join(sorted(REGISTRY))}"]}
    return REGISTRY[kind].validate(config, secrets)


__all__ = [
    "REGISTRY",
    "MEMBER_TYPE_KINDS",
    "ChannelHandler",
    "DeliveryError",
    "PermanentError",
    "TransientError",
    "UnknownChannelKind",
    "handler_for",
    "validate",
]
