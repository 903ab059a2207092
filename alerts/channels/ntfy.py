"""ntfy push: JSON publish to the channel's server with title, priority and an ack action.

Critical alerts go out at priority 5 (ntfy's "urgent", which bypasses do-not-disturb on
the phone app); other alerts at 4, acknowledgements and recoveries at 3.
"""

from alerts.channels import http
from alerts.channels.base import ChannelHandler, Field

TAGS = {"alert": ["rotating_light"], "acknowledged": ["eyes"], "recovery": ["white_check_mark"]}


class NtfyHandler(ChannelHandler):
    kind = "ntfy"
    config_fields = (Field("server_url", str, required=True, url=True), Field("topic", str, required=True))
    secret_fields = (Field("token", str),)

    async def send(self, delivery):
        message = delivery.message
        if message.event == "alert":
            priority = 5 if message.critical else 4
        else:
            priority = 3
        body = {
            "topic": delivery.config["topic"],
            "title": message.title,
            "message": f"Cause: {message.cause}" if message.cause else message.title,
            "priority": priority,
            "tags": TAGS[message.event],
            "click": message.incident_url,
        }
        if message.ack_url:
            body["actions"] = [{"action": "view", "label": "Acknowledge", "url": message.ack_url}]
        headers = {}
        if delivery.secrets.get("token"):
            headers["Authorization"] = f"Bearer {delivery.secrets['token']}"
        await http.post(delivery.config["server_url"].rstrip("/") + "/", guard=True, json=body, headers=headers)
