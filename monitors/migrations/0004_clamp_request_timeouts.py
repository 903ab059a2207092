"""Existing request timeouts brought within the rule of monitors.types: the type's range
(HTTP types 2–60 s; the others 500–5,000 ms) and never above the check frequency.

A data migration rather than only a rule at spec-building time, so that what the API
shows is what the probes use, and so that a PATCH of an unrelated attribute of an old
monitor is not refused for a timeout its client never sent. (The spec builder applies
the same rule too, for rows written around the API.)

The rule is copied here, not imported: a migration must keep meaning what it meant when
it was written. The frequency is capped before it is scaled to milliseconds, so a
frequency near 2^31 cannot overflow PostgreSQL's integer arithmetic.
"""

from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Greatest, Least

HTTP_TYPES = ("status", "expected_status_code", "keyword", "keyword_absence")


def clamp(apps, schema_editor):
    Monitor = apps.get_model("monitors", "Monitor")
    # max(low, min(timeout, high, frequency in units)): when the frequency is below the
    # smallest timeout, the smallest timeout is all that is left.
    Monitor.objects.filter(monitor_type__in=HTTP_TYPES).update(
        request_timeout=Greatest(Value(2), Least(F("request_timeout"), Value(60), F("check_frequency")))
    )
    Monitor.objects.exclude(monitor_type__in=HTTP_TYPES).update(
        request_timeout=Greatest(
            Value(500),
            Least(F("request_timeout"), Value(5000), Least(F("check_frequency"), Value(5)) * Value(1000)),
        )
    )


class Migration(migrations.Migration):
    dependencies = [("monitors", "0003_domain_registration")]

    operations = [migrations.RunPython(clamp, migrations.RunPython.noop)]
