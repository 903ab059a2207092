"""The console's lists compute availability for a page of monitors in one query
(alerts.availability.availabilities_of); it must agree with availability_of, the API's
figure, source by source."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.availability import availabilities_of, availability_of
from alerts.models import Incident
from monitors.models import Monitor

pytestmark = pytest.mark.django_db


def test_the_batch_agrees_with_the_one_source_rule(team):
    now = timezone.now()
    monitors = [Monitor.objects.create(team=team, url=f"https://m{n}.example.com") for n in range(5)]
    created = {
        monitor.pk: now - timedelta(days=days) for monitor, days in zip(monitors, (40, 20, 2, 0.5, 0), strict=True)
    }
    for pk, existed_since in created.items():
        Monitor.objects.filter(pk=pk).update(created_at=existed_since)
    spans = [
        (0, timedelta(days=35), timedelta(days=34)),  # wholly before the 30 d window
        (0, timedelta(hours=5), None),  # open
        (1, timedelta(hours=30), timedelta(hours=20)),  # straddles the 24 h edge
        (1, timedelta(hours=25), timedelta(hours=21)),  # overlaps the previous one
        (2, timedelta(days=3), timedelta(hours=47)),  # started before the monitor existed
        (3, timedelta(hours=1), timedelta(minutes=1)),
    ]
    for index, started, resolved in spans:
        Incident.objects.create(
            team=team,
            source_type="monitor",
            source_id=monitors[index].pk,
            cause="Status 503",
            started_at=now - started,
            resolved_at=None if resolved is None else now - resolved,
            status="Started" if resolved is None else "Resolved",
        )
    Incident.objects.create(  # deleted: a false alarm counts for neither
        team=team,
        source_type="monitor",
        source_id=monitors[3].pk,
        started_at=now - timedelta(hours=2),
        resolved_at=now - timedelta(hours=1.5),
        deleted_at=now,
        status="Resolved",
    )

    for span in (timedelta(hours=24), timedelta(days=30)):
        batch = availabilities_of(source_type="monitor", sources=created, start=now - span, end=now, now=now)
        one_by_one = {
            pk: availability_of(
                source_type="monitor", source_id=pk, start=now - span, end=now, existed_since=since, now=now
            )
            for pk, since in created.items()
        }
        assert batch == one_by_one
    assert batch[monitors[4].pk].availability == 100.0
    assert batch[monitors[0].pk].number_of_incidents == 1  # the one of 35 d ago is outside
