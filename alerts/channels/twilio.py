"""SMS and voice calls through a Twilio-compatible API at ``PHAROS_SMS_API_URL``.

Both POST form data to ``/2010-04-01/Accounts/<sid>/Messages.json`` or ``Calls.json``
with HTTP basic auth (account SID and token). A call reads the title aloud twice through
inline TwiML. Twilio answers 400 for an invalid or unreachable number (error 21211,
21614): permanent, as the issue asks.
"""

from xml.sax.saxutils import escape

from django.conf import settings

from alerts.channels import http
from alerts.channels.base import ChannelHandler, Field, PermanentError

SMS_LIMIT = 320


def _account():
    sid, token, sender = (
        settings.PHAROS_SMS_ACCOUNT_SID,
        settings.PHAROS_SMS_AUTH_TOKEN,
        settings.PHAROS_SMS_FROM_NUMBER,
    )
    if not (sid and token and sender):
        raise PermanentError(
            "SMS and calls are not configured: set PHAROS_SMS_ACCOUNT_SID, PHAROS_SMS_AUTH_TOKEN and PHAROS_SMS_FROM_NUMBER"
        )
    return sid, token, sender


def _phone(delivery):
    number = delivery.address or delivery.config.get("phone_number") or ""
    if not number:
        raise PermanentError("no phone number to reach")
    return number


async def _post(resource, form):
    sid, token, _ = _account()
    url = f"{settings.PHAROS_SMS_API_URL.rstrip('/')}/2010-04-01/Accounts/{sid}/{resource}.json"
    await http.post(url, guard=False, data=form, auth=(sid, token))


class SmsHandler(ChannelHandler):
    kind = "sms"
    config_fields = (Field("phone_number", str, required=True),)

    async def send(self, delivery):
        message = delivery.message
        text = message.title if not message.cause else f"{message.title} ({message.cause})"
        link = f" Ack: {message.ack_url}" if message.ack_url else ""
        # The text gives way, never the link: a cut link acknowledges nothing.
        body = f"Pharos: {text}"[: max(SMS_LIMIT - len(link), 40)] + link
        await _post("Messages", {"To": _phone(delivery), "From": _account()[2], "Body": body})


class CallHandler(ChannelHandler):
    kind = "call"
    config_fields = (Field("phone_number", str, required=True),)

    async def send(self, delivery):
        message = delivery.message
        spoken = escape(f"Pharos alert. {message.title}. {message.cause}.")
        twiml = f'<Response><Say voice="alice">{spoken}</Say><Pause length="1"/><Say voice="alice">{spoken}</Say></Response>'
        await _post("Calls", {"To": _phone(delivery), "From": _account()[2], "Twiml": twiml})
