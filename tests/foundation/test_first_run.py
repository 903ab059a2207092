"""The first start gives the admin a team, so the console works before anyone sets one up."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from teams.first_run import FIRST_TEAM_NAME, ensure_first_team
from teams.models import ApiToken, Membership, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@localhost", "x" * 12)


def test_the_first_start_creates_a_team_with_the_admin_as_its_on_call_member(admin_user):
    team = ensure_first_team()

    assert team is not None and team.name == FIRST_TEAM_NAME
    membership = Membership.objects.get(team=team)
    assert (membership.user, membership.role, membership.on_call) == (admin_user, "admin", True)


def test_later_starts_leave_the_teams_alone(admin_user):
    ensure_first_team()
    Team.objects.filter(name=FIRST_TEAM_NAME).update(name="Renamed by the operator")

    assert ensure_first_team() is None
    assert list(Team.objects.values_list("name", flat=True)) == ["Renamed by the operator"]


def test_an_install_that_already_has_a_team_gets_no_second_one(admin_user, team):
    assert ensure_first_team() is None
    assert Team.objects.count() == 1


def test_without_an_admin_user_no_team_is_made(db):
    assert ensure_first_team() is None
    assert not Team.objects.exists()


def test_the_readmes_createtoken_line_issues_a_token_for_the_first_team(admin_user, capsys):
    team = ensure_first_team()

    call_command("createtoken", FIRST_TEAM_NAME, "--email", "you@example.com")

    raw = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiToken.objects.authenticate(raw).team == team
    assert set(team.memberships.values_list("user__email", flat=True)) == {"admin@localhost", "you@example.com"}


def test_the_add_monitor_form_offers_the_first_team(admin_user, client):
    team = ensure_first_team()
    client.force_login(admin_user)

    page = client.get(reverse("admin:monitors_monitor_add")).content.decode()

    assert f'<option value="{team.pk}"' in page
