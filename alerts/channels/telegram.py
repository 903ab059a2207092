"""Telegram bot: sendMessage to a chat through ``PHAROS_TELEGRAM_API_URL``/bot<token>/.

The token travels in the URL path, so it must be exactly what BotFather hands out — the
bot's numeric id, a colon, and a URL-safe secret — and nothing that could add a path
segment, a query or another host (``/``, ``?``, ``#``, ``@``, ``..``).
"""

import re

from django.conf import settings
from django.utils.html import escape

from alerts.channels import http
from alerts.channels.base import ChannelHandler, DeliveryError, Field, PermanentError

BOT_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,64}")


def valid_bot_token(token: object) -> bool:
    return isinstance(token, str) and BOT_TOKEN.fullmatch(token) is not None


class TelegramHandler(ChannelHandler):
    kind = "telegram"
    config_fields = (Field("chat_id", str, required=True),)
    secret_fields = (Field("bot_token", str, required=True),)

    def validate_more(self, config, secrets):
        token = secrets.get("bot_token")
        if isinstance(token, str) and token and not valid_bot_token(token):
            return {"secrets.bot_token": ["must be a Telegram bot token: the bot's id, a colon and its secret"]}
        return {}

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
        if not valid_bot_token(token):
            # Saved before tokens were checked: never put it into a URL.
            raise PermanentError("the bot_token is not a Telegram bot token; set it again")
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
