"""Outgoing webhook: the incident as JSON, custom headers, an HMAC-SHA256 signature.

Signature: ``X-Pharos-Signature: sha256=<hex>`` over ``<X-Pharos-Timestamp>.<body>``
keyed with the channel's ``signing_secret``. Signing the timestamp with the body lets a
receiver reject replays of an old delivery; ``verify_signature`` is the receiver's side.
Headers whose values are secret (an Authorization header) belong in ``secrets.headers``.
"""

import hashlib
import hmac
import json
import time

from alerts.channels import http
from alerts.channels.base import ChannelHandler, Field

SIGNATURE_HEADER = "X-Pharos-Signature"
TIMESTAMP_HEADER = "X-Pharos-Timestamp"
# The outbox row's id: the same on every retry of one notification, so a receiver can
# drop a duplicate that at-least-once delivery let through (a worker killed after sending).
DELIVERY_HEADER = "X-Pharos-Delivery"
RESERVED_HEADERS = {
    "content-type",
    "content-length",
    "host",
    SIGNATURE_HEADER.lower(),
    TIMESTAMP_HEADER.lower(),
    DELIVERY_HEADER.lower(),
}


def sign(secret, timestamp, body):
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret, timestamp, body, signature):
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


class WebhookHandler(ChannelHandler):
    kind = "webhook"
    config_fields = (Field("url", str, required=True, url=True), Field("headers", dict))
    secret_fields = (Field("signing_secret", str), Field("headers", dict))

    def validate_more(self, config, secrets):
        errors = {}
        for where, values in (("config.headers", config.get("headers")), ("secrets.headers", secrets.get("headers"))):
            for name, value in (values or {}).items() if isinstance(values, dict) else ():
                if name.lower() in RESERVED_HEADERS:
                    errors.setdefault(where, []).append(f"{name} is set by Pharos")
                elif not isinstance(value, str) or "\n" in value or "\r" in value:
                    errors.setdefault(where, []).append(f"{name} must be a one-line string")
        return errors

    async def send(self, delivery):
        body = json.dumps(delivery.message.payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {**(delivery.config.get("headers") or {}), **(delivery.secrets.get("headers") or {})}
        headers["Content-Type"] = "application/json"
        headers[TIMESTAMP_HEADER] = timestamp
        headers[DELIVERY_HEADER] = str(delivery.notification_id)
        secret = delivery.secrets.get("signing_secret")
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        await http.post(delivery.config["url"], guard=True, content=body, headers=headers)
