"""status 0003 gives every monitor and heartbeat already there a badge token of its own (a
default evaluated once would have given them all one token, and the unique index refused it)."""

import pytest

from tests.migrating import back_to_latest, migrate

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("status", "0002_subscribers"), ("monitors", "0005_groups"), ("heartbeats", "0003_groups")]
AFTER = [("status", "0003_badges_and_region_names")]


def test_existing_monitors_and_heartbeats_each_get_a_distinct_badge_token():
    old = migrate(BEFORE)
    team = old.get_model("teams", "Team").objects.create(name="Before badges")
    monitors = [
        old.get_model("monitors", "Monitor").objects.create(team=team, url=f"https://{n}.example.com") for n in "abc"
    ]
    heartbeats = [old.get_model("heartbeats", "Heartbeat").objects.create(team=team, name=n) for n in "de"]
    with back_to_latest():
        new = migrate(AFTER)
        badges = new.get_model("status", "Badge").objects.all()
        assert sorted(badges.exclude(monitor=None).values_list("monitor_id", flat=True)) == [m.pk for m in monitors]
        assert sorted(badges.exclude(heartbeat=None).values_list("heartbeat_id", flat=True)) == [
            h.pk for h in heartbeats
        ]
        tokens = list(badges.values_list("token", flat=True))
        assert len(set(tokens)) == 5 and all(len(token) >= 24 for token in tokens)
