import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

TOKEN_PREFIX = "ph_"


def hash_token(raw: str) -> str:
    """SHA-256 of the token: tokens carry 256 bits of randomness, so a slow hash buys nothing."""
    return hashlib.sha256(raw.encode()).hexdigest()


class Team(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin"
    MEMBER = "member"


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    # The team's fallback on call, paged when no calendar event or rotation covers the moment
    # (teams.oncall); without one the team's first admin is.
    on_call = models.BooleanField(
        default=False, help_text="The team's fallback when no on-call calendar covers a moment."
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    phone_number = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
            # One current on-call person per team; rotation swaps the flag in a transaction.
            models.UniqueConstraint(fields=["team"], condition=Q(on_call=True), name="membership_one_on_call_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class ApiTokenQuerySet(models.QuerySet):
    def authenticate(self, raw: str | None) -> "ApiToken | None":
        """The token's row, or None. Lookup is by hash; the final compare is constant-time."""
        if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        digest = hash_token(raw)
        token: ApiToken | None = self.select_related("team").filter(token_hash=digest, revoked_at__isnull=True).first()
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

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.team})"

    @classmethod
    def issue(cls, team: Team, *, name: str = "") -> tuple["ApiToken", str]:
        """Create a token and return ``(row, raw)``; the raw value is never stored."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(team=team, name=name, token_hash=hash_token(raw), prefix=raw[:10])
        return row, raw


def new_feed_token() -> str:
    # 192 random bits: the token is the only secret of the iCalendar feed URL.
    return secrets.token_urlsafe(24)


class RotationInterval(models.TextChoices):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class OnCallCalendar(models.Model):
    """Who of a team is on call when: override events over a rotation (teams.oncall).

    Every team has at most one default calendar (created when first asked for); the
    simple escalation and ``current_on_call`` without an id page whoever it names.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="calendars")
    name = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False)
    # Rotations of days and weeks hand over at the same wall-clock time in this zone.
    timezone = models.CharField(max_length=64, default="UTC")
    feed_token = models.CharField(max_length=64, default=new_feed_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "id"]
        constraints = [
            # Two requests creating the default calendar at once: one insert wins, the other reads it.
            models.UniqueConstraint(
                fields=["team"], condition=Q(is_default=True), name="calendar_one_default_per_team"
            ),
            models.UniqueConstraint(fields=["feed_token"], name="calendar_feed_token_unique"),
        ]
        indexes = [models.Index(fields=["team", "id"], name="calendar_team")]

    def __str__(self) -> str:
        return self.name or ("Default on-call calendar" if self.is_default else f"calendar #{self.pk}")

    @property
    def feed_url(self) -> str:
        return f"{settings.PHAROS_BASE_URL}/on-call/{self.feed_token}.ics"


class OnCallRotation(models.Model):
    """Members taking turns: shift k is ``user_ids[k % len(user_ids)]`` (teams.rotation)."""

    calendar = models.OneToOneField(OnCallCalendar, on_delete=models.CASCADE, related_name="rotation", primary_key=True)
    # Ordered user ids, read with the row (escalation asks on every page). Someone who has
    # left the team stays in the list but is skipped when paged: their shifts fall back.
    user_ids = models.JSONField(default=list)
    rotation_length = models.PositiveIntegerField(default=1)
    rotation_interval = models.CharField(max_length=8, choices=RotationInterval.choices, default=RotationInterval.WEEK)
    start_rotations_at = models.DateTimeField()
    end_rotations_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rotation_length__gt=0), name="rotation_length_positive"),
            models.CheckConstraint(
                condition=Q(end_rotations_at__isnull=True) | Q(end_rotations_at__gt=models.F("start_rotations_at")),
                name="rotation_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"every {self.rotation_length} {self.rotation_interval} in {self.calendar}"


class OnCallEvent(models.Model):
    """An override: these members are on call from ``starts_at`` until ``ends_at``."""

    calendar = models.ForeignKey(OnCallCalendar, on_delete=models.CASCADE, related_name="events")
    user_ids = models.JSONField(default=list)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="event_ends_after_it_starts"),
        ]
        indexes = [
            # "Which events cover t": ends_at > t on a calendar, then starts_at <= t.
            models.Index(fields=["calendar", "ends_at"], name="event_calendar_ends"),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M}"
