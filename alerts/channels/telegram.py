"""Telegram bot: sendMessage to a chat through ``PHAROS_TELEGRAM_API_URL``/bot<token>/."""

from django.conf import settings
from django.utils.html import escape

from alerts.channels import http
from alerts.channels.base import ChannelHandler, Field


class TelegramHandler(ChannelHandler):
    kind = "telegram"
    config_fields = (Field("chat_id", str, required=True),)
    secret_fields = (Field("bot_token", str, required=True),)

    def send(self, delivery):
        message = delivery.message
        lines = [f"<b>{escape(message.title)}</b>"]
        if message.cause:
            lines.append(f"Cause: {escape(message.cause)}")
        links = [f'<a href="{escape(message.incident_url)}">Incident #{message.incident_id}</a>']
        if message.ack_url:
            links.append(f'<a href="{escape(message.ack_url)}">Acknowledge</a>')
        lines.append(" · ".join(links))
        url = f"{settings.PHAROS_TELEGRAM_API_URL}/bot{delivery.secrets['bot_token']}/sendMessage"
        http.post(
            url,
            guard=False,
            json={
                "chat_id": delivery.config["chat_id"],
                "text": "\n".join(lines),
                "parse_mode": "HTML",
                "disable_web_page_preview": True,
            },
        )
