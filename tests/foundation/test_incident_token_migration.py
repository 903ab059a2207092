"""alerts 0004 gives every existing policy its own incident token (a callable default
would have given them all the same one, and the unique constraint would have failed)."""

import pytest

from tests.migrating import back_to_latest, migrate

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("alerts", "0003_incident_event_failing")]
AFTER = [("alerts", "0004_urgencies_policy_groups_tokens_comments")]


def test_existing_policies_each_get_a_distinct_token():
    old = migrate(BEFORE)
    team = old.get_model("teams", "Team").objects.create(name="Before tokens")
    policies = old.get_model("alerts", "EscalationPolicy")
    for name in ("one", "two", "three"):
        policies.objects.create(team=team, name=name, steps=[])
    with back_to_latest():
        new = migrate(AFTER)
        tokens = list(new.get_model("alerts", "EscalationPolicy").objects.values_list("incident_token", flat=True))
        assert len(tokens) == 3 and len(set(tokens)) == 3
        assert all(len(token) >= 22 for token in tokens)
