"""Microsoft Teams webhook (Workflows or legacy connector): an Adaptive Card message."""

from alerts.channels import http
from alerts.channels.base import ChannelHandler, Field

COLOUR = {"alert": "attention", "acknowledged": "warning", "recovery": "good"}


class TeamsHandler(ChannelHandler):
    kind = "teams"
    secret_fields = (Field("webhook_url", str, required=True, url=True),)

    async def send(self, delivery):
        message = delivery.message
        actions = [{"type": "Action.OpenUrl", "title": f"Incident #{message.incident_id}", "url": message.incident_url}]
        if message.ack_url:
            actions.insert(0, {"type": "Action.OpenUrl", "title": "Acknowledge", "url": message.ack_url})
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {
                    "type": "TextBlock",
                    "text": message.title,
                    "weight": "Bolder",
                    "size": "Medium",
                    "color": COLOUR[message.event],
                    "wrap": True,
                },
                {"type": "TextBlock", "text": f"Cause: {message.cause or 'unknown'}", "wrap": True},
            ],
            "actions": actions,
        }
        payload = {
            "type": "message",
            "summary": message.title,
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }
        await http.post(delivery.secrets["webhook_url"], guard=True, json=payload)
