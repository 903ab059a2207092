"""For the tests of data migrations: migrate the test database back to a named state,
write rows with that state's models, migrate forward and look at what the migration made."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]) -> Apps:
    """Migrates the database to ``targets`` and returns the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@contextmanager
def back_to_latest() -> Iterator[None]:
    """Migrates the database to the latest state when the block ends, however it ends: a
    transactional test's flush empties the tables but would leave the old schema to the
    tests after it."""
    try:
        yield
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
