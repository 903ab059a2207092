"""Telegram bot: sendMessage to a chat through ``PHAROS_TELEGRAM_API_URL``/bot<token>/."""

from django.conf import settings
from django.utils.html import escape

from alerts.channels import http
from alerts.channels.base import ChannelHandler, DeliveryError, Field


class TelegramHandler(ChannelHandler):
    kind = "telegram"
    config_fields = (Field("chat_id", str, required=True),)
    secret_fields = (Field("bot_token", str, required=True),)

    async def send(self, delivery):
        message = delivery.message
        lines = [f"<b>{escape(message.title)}</b>"]
        if message.cause:
            lines.append(f"Cause: {escape(message.cause)}")
        links = [f'<a href="{escape(message.incident_url)}">Incident #{message.incident_id}</a>']
        if message.ack_url:
            links.append(f'<a href="{escape(message.ack_url)}">Acknowledge</a>')
        lines.append(" · ".join(links))
        token = delivery.secrets["bot_token"]
        url = f"{settings.PHAROS_TELEGRAM_API_URL}/bot{token}/sendMessage"
        body = {
            "chat_id": delivery.config["chat_id"],
            "text": "\n".join(lines),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        try:
            await http.post(url, guard=False, json=body)
        except DeliveryError as error:
            # The token travels in the URL; an error that quotes the URL must not put it
            # into last_error, which operators read in the admin.
            error.message = error.message.replace(token, "<bot_token>")
            raise
