"""PagerDuty Events API v2: trigger on alert, acknowledge and resolve with the same dedup key.

The dedup key is the incident id, so PagerDuty folds every step and retry of one Pharos
incident into one PagerDuty incident, and our acknowledgement and recovery close it.
The endpoint is ``PHAROS_PAGERDUTY_URL`` (an operator setting, so not address-guarded).
"""

from django.conf import settings

from alerts.channels import http
from alerts.channels.base import ChannelHandler, Field

ACTIONS = {"alert": "trigger", "acknowledged": "acknowledge", "recovery": "resolve"}
SEVERITIES = ("critical", "error", "warning", "info")


class PagerDutyHandler(ChannelHandler):
    kind = "pagerduty"
    config_fields = (Field("severity", str),)
    secret_fields = (Field("routing_key", str, required=True),)

    def validate_more(self, config, secrets):
        severity = config.get("severity")
        if severity and severity not in SEVERITIES:
            return {"config.severity": [f"must be one of {', '.join(SEVERITIES)}"]}
        return {}

    async def send(self, delivery):
        message = delivery.message
        attributes = message.payload["data"]["attributes"]
        event = {
            "routing_key": delivery.secrets["routing_key"],
            "event_action": ACTIONS[message.event],
            "dedup_key": f"pharos-incident-{message.incident_id}",
        }
        if message.event == "alert":
            event["payload"] = {
                "summary": message.title[:1024],
                "source": attributes["url"] or attributes["name"] or "pharos",
                "severity": delivery.config.get("severity") or ("critical" if message.critical else "error"),
                "timestamp": attributes["started_at"],
                "custom_details": {"cause": message.cause, "regions": attributes["regions"]},
            }
            event["links"] = [{"href": message.incident_url, "text": f"Pharos incident #{message.incident_id}"}]
        await http.post(settings.PHAROS_PAGERDUTY_URL, guard=False, json=event)
