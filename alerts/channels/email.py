"""Email over SMTP through Django's mail framework (EMAIL_* settings), text plus HTML.

A person delivery goes to the member's address; an email channel (a shared mailbox) to
the addresses in its config. SMTP reply codes decide retries: 5xx and refused recipients
are permanent, 4xx and dropped connections are worth another try. A failed login is
treated as transient so that mail queued during a credentials mix-up still goes out once
the operator fixes EMAIL_HOST_PASSWORD.
"""

import asyncio
import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from alerts.channels.base import ChannelHandler, Field, PermanentError, TransientError


class EmailHandler(ChannelHandler):
    kind = "email"
    config_fields = (Field("addresses", list, required=True),)

    def validate_more(self, config, secrets):
        errors = []
        addresses = config.get("addresses")
        for address in addresses if isinstance(addresses, list) else []:
            try:
                validate_email(address)
            except (ValidationError, TypeError):
                errors.append(f"{address!r} is not an email address")
        return {"config.addresses": errors} if errors else {}

    async def send(self, delivery):
        # smtplib blocks: a thread of its own, bounded by EMAIL_TIMEOUT on every socket
        # operation (and by the sender's deadline, which stops waiting for it).
        await asyncio.to_thread(self.send_blocking, delivery)

    def send_blocking(self, delivery):
        recipients = [delivery.address] if delivery.address else list(delivery.config.get("addresses") or [])
        if not recipients:
            raise PermanentError("no email address to send to")
        message = delivery.message
        email = EmailMultiAlternatives(
            subject=(getattr(message, "subject", "") or f"[Pharos] {message.title}")[:250],
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients,
            headers={
                # Threads alert, acknowledgement and recovery of one incident together
                # (a status page's report mail brings its own References, and no incident).
                **(
                    {
                        "X-Pharos-Incident": str(message.incident_id),
                        "References": f"<incident-{message.incident_id}@pharos>",
                    }
                    if message.incident_id is not None
                    else {}
                ),
                "Auto-Submitted": "auto-generated",
                **(getattr(message, "headers", None) or {}),
            },
            connection=get_connection(fail_silently=False),
        )
        email.attach_alternative(message.html, "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentError(f"recipient refused: {_describe_refusals(error.recipients)}") from None
        except smtplib.SMTPAuthenticationError as error:
            raise TransientError(f"SMTP login failed: {error.smtp_code} {_text(error.smtp_error)}") from None
        except smtplib.SMTPResponseException as error:
            detail = f"SMTP {error.smtp_code} {_text(error.smtp_error)}"
            if 500 <= error.smtp_code < 600:
                raise PermanentError(detail) from None
            raise TransientError(detail) from None
        except (smtplib.SMTPException, OSError) as error:
            raise TransientError(f"{type(error).__name__}: {error}") from None


def _text(raw):
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def _describe_refusals(refusals):
    return "; ".join(f"{address}: {code} {_text(text)}" for address, (code, text) in refusals.items())
