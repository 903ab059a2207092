import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

TOKEN_PREFIX = "ph_"


def hash_token(raw):
    """SHA-256 of the token: tokens carry 256 bits of randomness, so a slow hash buys nothing."""
    return hashlib.sha256(raw.encode()).hexdigest()


class Team(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    on_call = models.BooleanField(default=False)
    phone_number = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
            # One current on-call person per team; rotation swaps the flag in a transaction.
            models.UniqueConstraint(fields=["team"], condition=Q(on_call=True), name="membership_one_on_call_per_team"),
        ]

    def __str__(self):
        return f"{self.user} in {self.team}"


class ApiTokenQuerySet(models.QuerySet):
    def authenticate(self, raw):
        """The token's row, or None. Lookup is by hash; the final compare is constant-time."""
        if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        digest = hash_token(raw)
        token = self.select_related("team").filter(token_hash=digest, revoked_at__isnull=True).first()
        if token is None or not hmac.compare_digest(token.token_hash, digest):
            return None
        return token


class ApiToken(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so an operator can tell tokens apart in the admin.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self):
        return f"{self.prefix}… ({self.team})"

    @classmethod
    def issue(cls, team, *, name=""):
        """Create a token and return ``(row, raw)``; the raw value is never stored."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(team=team, name=name, token_hash=hash_token(raw), prefix=raw[:10])
        return row, raw
