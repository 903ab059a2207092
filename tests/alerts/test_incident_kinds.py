"""Incident kinds as data: each kind of a source has its own open-incident slot, which the
database enforces (``incident_one_open_per_source_and_kind``), and rows from before the
column get their kind from what told them apart then (alerts 0005)."""

import threading

import pytest
from django.db import IntegrityError, connections, transaction

from alerts.incidents import Alerting, IncidentFacts, open_incident, resolve_open_incident
from alerts.models import Incident, IncidentKind, IncidentSource
from tests.alerts.conftest import T0
from tests.migrating import back_to_latest, migrate


def open_for_monitor(team, kind, *, source_id=7, cause="Status 503"):
    return open_incident(
        team_id=team.pk,
        source_type=IncidentSource.MONITOR,
        source_id=source_id,
        facts=IncidentFacts(cause=cause),
        alerting=Alerting(),
        now=T0,
        kind=kind,
    )


@pytest.mark.django_db
def test_an_outage_a_certificate_and_a_domain_incident_are_open_at_once_on_one_monitor(team):
    opened = [open_for_monitor(team, kind) for kind in (IncidentKind.DOMAIN, IncidentKind.OUTAGE)]
    opened.append(open_for_monitor(team, IncidentKind.CERTIFICATE, source_id=8))
    assert all(incident is not None for incident in opened)
    assert open_for_monitor(team, IncidentKind.OUTAGE) is None
    assert open_for_monitor(team, IncidentKind.DOMAIN) is None
    assert sorted(Incident.objects.open().filter(source_id=7).values_list("kind", flat=True)) == ["domain", "outage"]


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_incident_of_one_kind_even_past_the_code(team):
    Incident.objects.create(team=team, source_type="monitor", source_id=7, kind="domain", started_at=T0)
    Incident.objects.create(team=team, source_type="monitor", source_id=7, kind="outage", started_at=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(team=team, source_type="monitor", source_id=7, kind="domain", started_at=T0)


@pytest.mark.django_db
def test_manual_incidents_are_of_kind_manual_and_never_collide(team):
    facts = IncidentFacts(cause="Payments are failing", requester_email="ops@example.com")
    first, second = (
        open_incident(team_id=team.pk, source_type="manual", source_id=None, facts=facts, alerting=Alerting(), now=T0)
        for _ in range(2)
    )
    assert first.kind == second.kind == IncidentKind.MANUAL and first.pk != second.pk


@pytest.mark.django_db
def test_deleting_a_source_resolves_its_open_incidents_of_every_kind(team):
    open_for_monitor(team, IncidentKind.OUTAGE)
    open_for_monitor(team, IncidentKind.DOMAIN)
    resolved = resolve_open_incident(source_type="monitor", source_id=7, by="tests", now=T0)
    assert len(resolved) == 2 and not Incident.objects.open().exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_opens_of_one_kind_give_one_incident(team):
    """The first opener holds its uncommitted row; the second blocks on the unique index
    until the first commits, then backs off (None) instead of opening a second incident."""
    inserted, results, errors = threading.Event(), {}, []

    def first():
        try:
            with transaction.atomic():
                results["first"] = open_for_monitor(team, IncidentKind.OUTAGE)
                inserted.set()
                # Hold the transaction until the second opener is waiting on our row.
                for _ in range(100):
                    if second_waits():
                        break
                    threading.Event().wait(0.05)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            inserted.set()
            connections.close_all()

    def second():
        try:
            inserted.wait(10)
            results["second"] = open_for_monitor(team, IncidentKind.OUTAGE)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    def second_waits():
        with connections["default"].cursor() as cursor:
            # Statistics views are a snapshot per transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            return cursor.fetchone()[0] > 0

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert results["first"] is not None and results["second"] is None
    assert Incident.objects.filter(source_id=7, kind=IncidentKind.OUTAGE).count() == 1


BEFORE = [("alerts", "0004_urgencies_policy_groups_tokens_comments")]
AFTER = [("alerts", "0005_incident_kind")]


@pytest.mark.django_db(transaction=True)
def test_existing_incidents_get_their_kind_from_what_told_them_apart_before():
    old = migrate(BEFORE)
    team = old.get_model("teams", "Team").objects.create(name="Before kinds")
    incidents = old.get_model("alerts", "Incident")

    def make(cause, **fields):
        fields.setdefault("source_type", "monitor")
        return incidents.objects.create(team=team, cause=cause, started_at=T0, **fields).pk

    expected = {
        make("Status 503", source_id=1, metadata={"kind": "outage"}): "outage",
        make("Domain expires in 3 days", source_id=2, metadata={"kind": "domain_expiration"}): "domain",
        make("TLS certificate expires in 6 days", source_id=3, metadata={"kind": "outage"}): "certificate",
        make("Certificate expires soon", source_id=4, metadata={"kind": "ssl_expiration"}): "certificate",
        make("Payments failing", source_type="manual", requester_email="ops@example.com"): "manual",
        make("Missed heartbeat", source_type="heartbeat", source_id=5): "outage",
    }
    with back_to_latest():
        new = migrate(AFTER)
        kinds = dict(new.get_model("alerts", "Incident").objects.values_list("pk", "kind"))
        assert kinds == expected
