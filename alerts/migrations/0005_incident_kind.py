"""Incident.kind: what an incident is about, with one open incident per source AND kind.

Until now the kind was told apart by other means: ``source_type = "manual"`` for a
person's incident, ``metadata["kind"]`` for a domain warning (``"domain_expiration"``) and
for the certificate warning of the old parallel path (``"ssl_expiration"``), and the cause
the probes give a certificate inside its window ("TLS certificate expire…") since the
quorum took that over. Every other row is an outage. At most one incident per source was
open before, so no source can end up with two open incidents of one kind here.
"""

from django.db import migrations, models
from django.db.models import Q

CERTIFICATE_CAUSE = "TLS certificate expire"  # probes.tls: "expires in N days" / "expired"


def label_existing_incidents(apps, schema_editor):
    incident = apps.get_model("alerts", "Incident")
    incident.objects.filter(source_type="manual").update(kind="manual")
    monitors = incident.objects.filter(source_type="monitor")
    monitors.filter(metadata__kind="domain_expiration").update(kind="domain")
    monitors.filter(Q(metadata__kind="ssl_expiration") | Q(cause__startswith=CERTIFICATE_CAUSE)).exclude(
        metadata__kind="domain_expiration"
    ).update(kind="certificate")


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0004_urgencies_policy_groups_tokens_comments"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="kind",
            field=models.CharField(
                choices=[
                    ("outage", "Outage"),
                    ("certificate", "Certificate"),
                    ("domain", "Domain"),
                    ("manual", "Manual"),
                ],
                default="outage",
                max_length=16,
            ),
        ),
        migrations.RunPython(label_existing_incidents, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="incident", name="incident_one_open_per_source"),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.UniqueConstraint(
                condition=models.Q(("resolved_at__isnull", True), ("source_id__isnull", False)),
                fields=("source_type", "source_id", "kind"),
                name="incident_one_open_per_source_and_kind",
            ),
        ),
    ]
