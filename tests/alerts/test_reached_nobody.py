"""Incidents that reached nobody: marked on the incident, counted, and told to the operators
once per team over real SMTP (aiosmtpd on loopback)."""

from datetime import timedelta

import pytest

from alerts import reached_nobody
from alerts.escalation import escalate_due
from alerts.models import EscalationPolicy, Incident, ReachedNobodyNotice
from teams.models import Team
from tests.alerts.conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def operators(settings):
    settings.PHAROS_OPERATOR_EMAIL = ["ops@example.com"]
    settings.PHAROS_BASE_URL = "http://testserver"


def test_an_incident_of_a_team_without_members_or_channels_is_marked_as_reaching_nobody(open_down):
    incident = open_down()

    assert Incident.objects.get(pk=incident.pk).reached_nobody is True
    assert list(reached_nobody.incidents_that_reached_nobody()) == [incident]
    assert reached_nobody.open_incidents_that_reached_nobody_count() == 1


def test_an_incident_that_alerted_a_member_is_not_marked(open_down, member):
    member("ana", on_call=True)

    incident = open_down()

    assert Incident.objects.get(pk=incident.pk).reached_nobody is False
    assert reached_nobody.open_incidents_that_reached_nobody_count() == 0


def test_a_resolved_incident_that_reached_nobody_is_listed_but_not_counted_as_open(open_down):
    from alerts.incidents import resolve_incident

    incident = open_down()
    resolve_incident(incident.pk, by="test", now=T0)

    assert list(reached_nobody.incidents_that_reached_nobody()) == [incident]
    assert reached_nobody.open_incidents_that_reached_nobody_count() == 0


def test_a_later_step_that_reaches_someone_clears_the_mark(open_down, member, team):
    ana = member("ana")
    policy = EscalationPolicy.objects.create(
        team=team,
        name="channel first, then Ana",
        steps=[
            {"type": "escalation", "wait_before": 0, "step_members": [{"type": "channel", "id": 999999}]},
            {"type": "escalation", "wait_before": 60, "step_members": [{"type": "user", "id": ana.pk}]},
        ],
    )
    incident = open_down(policy_id=policy.pk)
    assert Incident.objects.get(pk=incident.pk).reached_nobody is True

    escalate_due(now=T0 + timedelta(seconds=61))

    assert Incident.objects.get(pk=incident.pk).reached_nobody is False


def test_the_first_incident_that_reaches_nobody_claims_the_teams_notice(open_down, team):
    first = open_down()
    open_down()

    notice = ReachedNobodyNotice.objects.get()
    assert (notice.team_id, notice.incident_id, notice.told_at) == (team.pk, first.pk, None)


def test_the_operators_are_told_once_per_team(smtp_server, operators, open_down, team):
    incident = open_down()
    open_down()

    told = [reached_nobody.tell_operators(team.pk, now=T0), reached_nobody.tell_operators(team.pk, now=T0)]

    assert told == [True, False]
    [envelope] = smtp_server.messages
    assert envelope.rcpt_tos == ["ops@example.com"]
    text = envelope.content.decode()
    assert "Eleva Care" in text and f"/admin/alerts/incident/{incident.pk}/change/" in text
    assert ReachedNobodyNotice.objects.get().told_at == T0
    assert reached_nobody.sweep(now=T0 + timedelta(days=1)) == []


def test_each_team_is_told_about_separately(smtp_server, operators, open_down, team):
    open_down()
    elsewhere = Team.objects.create(name="Someone Else")
    from alerts.incidents import Alerting, IncidentFacts, open_incident

    open_incident(
        team_id=elsewhere.pk,
        source_type="heartbeat",
        source_id=1,
        facts=IncidentFacts(cause="No ping"),
        alerting=Alerting(),
        now=T0,
    )

    assert reached_nobody.tell_operators(team.pk, now=T0)
    assert reached_nobody.tell_operators(elsewhere.pk, now=T0)
    assert len(smtp_server.messages) == 2


def test_without_configured_operators_the_superusers_are_told(
    smtp_server, settings, open_down, team, django_user_model
):
    settings.PHAROS_OPERATOR_EMAIL = []
    django_user_model.objects.create_superuser("admin", "admin@example.com", "x" * 12)
    open_down()

    reached_nobody.tell_operators(team.pk, now=T0)

    assert smtp_server.messages[0].rcpt_tos == ["admin@example.com"]


def test_a_mail_that_fails_is_sent_again_by_the_sweep_once_the_lease_expires(settings, operators, open_down, team):
    from tests.alerts.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    open_down()

    assert reached_nobody.tell_operators(team.pk, now=T0) is False

    assert ReachedNobodyNotice.objects.get().told_at is None
    assert reached_nobody.sweep(now=T0 + timedelta(seconds=10)) == []  # leased: not sent twice meanwhile
    assert reached_nobody.sweep(now=T0 + reached_nobody.LEASE) == [team.pk]


def test_the_incident_list_says_which_incidents_reached_nobody(client, django_user_model, open_down, member):
    client.force_login(django_user_model.objects.create_superuser("op", "op@example.com", "x" * 12))
    lonely = open_down(name="lonely.example.com")
    member("ana", on_call=True)
    open_down(name="heard.example.com")

    page = client.get("/admin/alerts/incident/").content.decode()
    assert page.count("reached nobody</span>") == 1
    filtered = client.get("/admin/alerts/incident/?reached_nobody__exact=1").content.decode()
    assert f"#{lonely.pk} lonely.example.com" in filtered and "heard.example.com" not in filtered


def test_while_the_mail_is_owed_each_incident_enqueues_it(open_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        open_down()

    assert [c.__module__ for c in callbacks].count("alerts.reached_nobody") == 1


def test_once_the_operators_were_told_later_incidents_enqueue_nothing(
    smtp_server, operators, open_down, team, django_capture_on_commit_callbacks
):
    open_down()
    reached_nobody.tell_operators(team.pk, now=T0)

    with django_capture_on_commit_callbacks() as callbacks:
        later = open_down()

    assert Incident.objects.get(pk=later.pk).reached_nobody is True
    from_here = [c for c in callbacks if c.__module__ == "alerts.reached_nobody"]
    assert from_here == []
