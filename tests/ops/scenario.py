"""Seed a fault-test scenario into the database a running Pharos uses.

Run by tests/ops/system.py as ``python -m tests.ops.scenario '<json>'`` with the system's
environment (its DATABASE_URL): one team, one HTTP monitor checked from every region, and
a team webhook channel so that an incident's alert is really delivered over HTTP. Prints
the ids as JSON on its last line.
"""

import json
import os
import sys


def main(argv):
    scenario = json.loads(argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from alerts.models import Channel
    from monitors.models import Monitor
    from teams.models import Team

    team = Team.objects.create(name="Fault tests")
    monitor = Monitor.objects.create(
        team=team,
        url=scenario["url"],
        pronounceable_name="fault-test target",
        monitor_type="status",
        check_frequency=scenario["frequency"],
        request_timeout=scenario["timeout"],
        confirmation_period=0,
        recovery_period=scenario.get("recovery_period", 600),
        email=False,
    )
    channel = Channel.objects.create(
        team=team, kind="webhook", name="fault-test hook", config={"url": scenario["hook"]}
    )
    print(json.dumps({"team": team.pk, "monitor": monitor.pk, "channel": channel.pk}))


if __name__ == "__main__":
    main(sys.argv)
