"""Incident tokens: ``POST /api/v3/incidents`` with a policy's ``incident_token`` as the
bearer token (and no API token) opens a manual incident escalated by that policy — a way for
another system (a payment processor's webhook, a script, a form) to raise one.

The token opens incidents and does nothing else: every other operation answers 401 to it.
It is stored in the clear, like a heartbeat's ping token, because the API shows it back
(read-only ``incident_token`` of the policy); it carries 144 random bits.
"""

import hmac

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from alerts.models import EscalationPolicy
from config.jsonapi.auth import TeamPrincipal, TeamTokenAuthentication
from teams.models import ApiToken, hash_token

MAX_TOKEN_LENGTH = 64


class IncidentTokenGrant:
    """What ``request.auth`` is when a policy's incident token authenticated the request."""

    def __init__(self, policy: EscalationPolicy, raw: str):
        self.policy = policy
        self.team = policy.team
        # The rate limit keys on this, as it does on an API token's hash.
        self.token_hash = hash_token(raw)
        self.name = f"incident token of policy {policy.name}"


def policy_for_incident_token(raw: str) -> EscalationPolicy | None:
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    policy = EscalationPolicy.objects.select_related("team").filter(incident_token=raw).first()
    if policy is None or not hmac.compare_digest(policy.incident_token, raw):
        return None
    return policy


class TeamOrIncidentTokenAuthentication(TeamTokenAuthentication):
    """An API token anywhere; on opening an incident, a policy's incident token too."""

    def authenticate(self, request: Request) -> tuple[TeamPrincipal, object] | None:
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            view = request.parser_context.get("view") if request.parser_context else None
            if getattr(view, "action", None) != "create":
                raise
            scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
            policy = policy_for_incident_token(raw.strip()) if scheme.lower() == "bearer" else None
            if policy is None:
                raise
            return TeamPrincipal(policy.team), IncidentTokenGrant(policy, raw.strip())


class HasTeamOrIncidentToken(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, (ApiToken, IncidentTokenGrant))


class IncidentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "alerts.incident_tokens.TeamOrIncidentTokenAuthentication"
    name = "TeamApiTokenOrIncidentToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A team API token; POST /api/v3/incidents also takes a policy's incident_token.",
        }
