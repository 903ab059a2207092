"""alerts 0004 gives every existing policy its own incident token (a callable default
would have given them all the same one, and the unique constraint would have failed)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("alerts", "0003_incident_event_failing")]
AFTER = [("alerts", "0004_urgencies_policy_groups_tokens_comments")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_policies_each_get_a_distinct_token():
    old = migrate(BEFORE)
    team = old.get_model("teams", "Team").objects.create(name="Before tokens")
    policies = old.get_model("alerts", "EscalationPolicy")
    for name in ("one", "two", "three"):
        policies.objects.create(team=team, name=name, steps=[])
    try:
        new = migrate(AFTER)
        tokens = list(new.get_model("alerts", "EscalationPolicy").objects.values_list("incident_token", flat=True))
        assert len(tokens) == 3 and len(set(tokens)) == 3
        assert all(len(token) >= 22 for token in tokens)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
