"""Which database backend the suite runs on, for tests of one backend's fast path.

`make test` runs the whole suite on PostgreSQL, then `make test-sqlite` runs the
state-machine, scheduler, aggregator and ping tests again on the quick start's SQLite, so
both sides of every `connection.vendor` branch run under a test.
"""

import pytest
from django.conf import settings

ON_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")

# For behaviour that only the PostgreSQL fast path has (documented in docs/architecture.md).
postgresql_only = pytest.mark.skipif(ON_SQLITE, reason="a PostgreSQL fast path's behaviour; SQLite takes the ORM path")
