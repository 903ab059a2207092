from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from teams.models import ApiToken, Membership, Team


class Command(BaseCommand):
    help = (
        "Create TEAM if needed and print a new API token as the last line. With --email, "
        "the person at that address joins the team and becomes its on-call contact."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team", help="team name")
        parser.add_argument("--email", help="member and on-call contact for alerts")
        parser.add_argument("--name", default="", help="a label for the token")

    def handle(self, *args: Any, team: str, email: str | None = None, name: str = "", **options: Any) -> None:
        team_name = team.strip()
        if not team_name:
            raise CommandError("TEAM must not be empty")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"--email {email!r} is not an email address") from None
        with transaction.atomic():
            team_row, created = Team.objects.get_or_create(name=team_name)
            if created:
                self.stdout.write(f"Created team {team_name!r}.")
            if email:
                self._make_on_call(team_row, email)
            _, raw = ApiToken.issue(team_row, name=name)
        self.stdout.write("Keep this token now; Pharos stores only its hash:")
        self.stdout.write(raw)

    def _make_on_call(self, team: Team, email: str) -> None:
        users = get_user_model()
        user = users.objects.filter(email__iexact=email).first()
        if user is None:
            user = users.objects.create_user(username=email, email=email)
            user.set_unusable_password()
            user.save(update_fields=["password"])
        # One on-call member per team (a partial unique index): clear the old one first.
        Membership.objects.filter(team=team, on_call=True).exclude(user=user).update(on_call=False)
        Membership.objects.update_or_create(team=team, user=user, defaults={"on_call": True})
        self.stdout.write(f"{email} is a member of {team.name!r} and its on-call contact.")
