"""Slack incoming webhook: a short text with the cause and the acknowledge link.

The webhook URL embeds Slack's token, so it is a secret. Slack answers 4xx with
``invalid_token`` / ``channel_not_found`` for a dead hook: permanent.
"""

from alerts.channels import http
from alerts.channels.base import ChannelHandler, Field

EMOJI = {"alert": ":red_circle:", "acknowledged": ":large_yellow_circle:", "recovery": ":large_green_circle:"}


class SlackHandler(ChannelHandler):
    kind = "slack"
    secret_fields = (Field("webhook_url", str, required=True, url=True),)

    async def send(self, delivery):
        message = delivery.message
        lines = [f"{EMOJI[message.event]} *{message.title}*"]
        if message.cause:
            lines.append(f"Cause: {message.cause}")
        links = [f"<{message.incident_url}|Incident #{message.incident_id}>"]
        if message.ack_url:
            links.append(f"<{message.ack_url}|Acknowledge>")
        lines.append(" · ".join(links))
        text = "\n".join(lines)
        payload = {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
        await http.post(delivery.secrets["webhook_url"], guard=True, json=payload)
