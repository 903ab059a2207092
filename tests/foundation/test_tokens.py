"""API tokens are stored hashed, shown once, and found again only by their raw value."""

import pytest
from django.core.management import call_command

from teams.models import ApiToken, Membership, Team, hash_token

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_only_as_its_hash(team):
    row, raw = ApiToken.issue(team)
    assert raw not in (row.token_hash, row.prefix)
    assert row.token_hash == hash_token(raw)
    assert not ApiToken.objects.filter(token_hash=raw).exists()


def test_the_raw_token_authenticates_its_team(team):
    _, raw = ApiToken.issue(team)
    assert ApiToken.objects.authenticate(raw).team == team


@pytest.mark.parametrize("attempt", ["", "ph_wrong", "not-a-token", "ph_" + "x" * 500])
def test_a_wrong_token_authenticates_nobody(team, attempt):
    ApiToken.issue(team)
    assert ApiToken.objects.authenticate(attempt) is None


def test_a_revoked_token_authenticates_nobody(team):
    row, raw = ApiToken.issue(team)
    ApiToken.objects.filter(pk=row.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert ApiToken.objects.authenticate(raw) is None


def test_createtoken_creates_the_team_and_prints_the_token_last(capsys):
    call_command("createtoken", "Ops")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiToken.objects.authenticate(last_line).team.name == "Ops"


def test_createtoken_reuses_an_existing_team(team, capsys):
    call_command("createtoken", team.name)
    assert Team.objects.count() == 1
    assert ApiToken.objects.filter(team=team).count() == 1


def test_createtoken_with_email_makes_that_person_the_on_call_member(capsys):
    call_command("createtoken", "Ops", "--email", "ana@example.com")
    call_command("createtoken", "Ops", "--email", "bo@example.com")
    on_call = Membership.objects.get(team__name="Ops", on_call=True)
    assert on_call.user.email == "bo@example.com"
    assert Membership.objects.filter(team__name="Ops").count() == 2


def test_createtoken_refuses_a_bad_address():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--email"):
        call_command("createtoken", "Ops", "--email", "not-an-address")
    assert not Team.objects.exists()
