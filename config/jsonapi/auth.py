"""Bearer-token authentication: a token belongs to one team, and the team is the tenant.

``request.auth`` is the ``teams.ApiToken`` row and ``request.user`` a ``TeamPrincipal``;
views read the tenant from ``request.auth.team``. Tokens are looked up by their SHA-256
hash and compared in constant time (``ApiToken.objects.authenticate``). A missing or wrong
token is a 401 in the contract's shape (see ``errors``).
"""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from teams.models import ApiToken, Team

# last_used_at is for operators ("is this token still used?"): minute precision is plenty,
# and writing it on every request would turn every GET into a row update.
LAST_USED_PRECISION = timedelta(minutes=1)


class TeamPrincipal:
    """What DRF calls the user: the team a token speaks for."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, team: Team) -> None:
        self.team = team

    def __str__(self) -> str:
        return f"team {self.team.pk}"


class TeamTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[TeamPrincipal, object] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        token = ApiToken.objects.authenticate(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise AuthenticationFailed()
        _note_use(token, now=timezone.now())
        return TeamPrincipal(token.team), token

    def authenticate_header(self, request: Request) -> str:
        # Its presence makes DRF answer 401 (not 403) when no token was sent.
        return 'Bearer realm="api"'


def _note_use(token: ApiToken, *, now: datetime) -> None:
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    # Conditional so that concurrent requests of one token write the row at most once a minute.
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    ).update(last_used_at=now)


class HasTeamToken(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, ApiToken)


class TeamTokenScheme(OpenApiAuthenticationExtension):
    target_class = "config.jsonapi.auth.TeamTokenAuthentication"
    name = "TeamApiToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A team API token: `Authorization: Bearer <token>`.",
        }
