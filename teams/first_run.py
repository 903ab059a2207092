"""The first start: a team for the admin, so the console works before anyone sets one up.

Without a team, the add-monitor form offers an empty team choice and the first incidents
reach nobody (the admin belongs to no team). ``make run`` calls ``ensure_first_team`` on
every start; it does something only while the install has no team at all, so a team an
operator created or renamed is never touched.

The team is called ``My team``, the name the README's ``createtoken`` line uses: that
command then issues a token for the team the admin is already in.
"""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from teams.models import Membership, Role, Team

log = logging.getLogger(__name__)

FIRST_TEAM_NAME = "My team"


def ensure_first_team() -> Team | None:
    """Create ``My team`` with the first active superuser as its admin and on-call member,
    when no team exists yet; returns the team it created, or None."""
    admin = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if admin is None:
        return None
    with transaction.atomic():
        if Team.objects.exists():
            return None
        # The unique name is the claim: of two first starts at once, one creates the team.
        team, created = Team.objects.get_or_create(name=FIRST_TEAM_NAME)
        if not created:
            return None
        Membership.objects.create(team=team, user=admin, role=Role.ADMIN, on_call=True)
    log.info("created the team %r with %s as its admin and on-call member", team.name, admin.get_username())
    return team
