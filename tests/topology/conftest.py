"""Fixtures of the topology tests: a real PgBouncer in transaction pooling mode in front of the
test database, and real qcluster nodes that reach the database only through it."""

from __future__ import annotations

import pytest

from tests.support import pgbouncer as pgbouncer_support
from tests.support.polling import wait_until


def pooled_env(bouncer: pgbouncer_support.PgBouncer, *, listen: bool = True) -> dict[str, str]:
    """The environment of a process that reaches the test database through `bouncer`; LISTEN
    goes direct when `listen`, otherwise the node polls."""
    from django.db import connection

    from tests.support.clusters import database_url

    env = {
        "DATABASE_URL": bouncer.url(connection.settings_dict["NAME"]),
        "DATABASE_TRANSACTION_POOLING": "true",
        "JOBS_WORKER_MODULES": "tests.support.workers,tests.support.topology_workers",
        "JOBS_LISTEN_DATABASE_URL": database_url() if listen else "",
    }
    return env


@pytest.fixture(scope="session")
def pgbouncer(django_db_setup, django_db_blocker):
    """One PgBouncer for the session, in front of the test database's server; stopped (and
    its server sessions gone) before the test database is dropped."""
    if pgbouncer_support.binary() is None:
        pytest.skip("pgbouncer is not installed (scripts/dev.py test installs it as root)")
    from django.db import connection

    settings = connection.settings_dict
    bouncer = pgbouncer_support.PgBouncer(
        backend_host=settings.get("HOST") or "127.0.0.1",
        backend_port=int(settings.get("PORT") or 5432),
        pool_size=3,
    ).start()
    yield bouncer
    bouncer.stop()
    with django_db_blocker.unblock():
        wait_until(
            lambda: _other_sessions(connection) == 0,
            timeout=20,
            message="pgbouncer's server sessions to end",
        )
        connection.close()


def _other_sessions(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def pooled_clusters(clusters, pgbouncer):
    """Like `clusters`, but every node reaches the database through PgBouncer (LISTEN direct;
    `listen=False` makes a node poll)."""

    class Factory:
        bouncer = pgbouncer

        def start(self, *, env: dict[str, str] | None = None, listen: bool = True, **options):
            return clusters.start(
                env={**pooled_env(pgbouncer, listen=listen), **(env or {})}, **options
            )

    return Factory()
