"""Test-suite set-up: a real PostgreSQL (embedded, or DATABASE_URL), real clusters on demand."""

from __future__ import annotations

import pytest

from healthcare_cms.localdb import server as localdb

_embedded_was_running = localdb.running_address() is not None

EXECUTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS test_executions (
  id bigserial PRIMARY KEY, job_id bigint, kind text, attempt int, pid int, queue text,
  started timestamptz, payload text
)
"""


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, plus the table where test workers record each execution; the
    database is marked so that the flush between tests may TRUNCATE the audit log."""
    from django.db import connection

    from tests.support.audit_log import allow_flush_of_audit_log

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(EXECUTIONS_TABLE)
        allow_flush_of_audit_log(connection)


@pytest.fixture
def executions(transactional_db):
    """Read what the test workers recorded: list of dicts, in order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE test_executions")

    def read(kind: str | None = None):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT job_id, kind, attempt, pid, queue, started FROM test_executions "
                + ("WHERE kind = %s " if kind else "")
                + "ORDER BY id",
                [kind] if kind else [],
            )
            names = ["job_id", "kind", "attempt", "pid", "queue", "started"]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    yield read
    from tests.support.workers import close_witness

    close_witness()


@pytest.fixture
def clusters(transactional_db):
    """Start real qcluster subprocesses: `clusters.start(concurrency=2)`; all stop at teardown."""
    from django.db import connection

    from tests.support.clusters import ClusterProcess

    started: list[ClusterProcess] = []

    class Factory:
        def start(self, **options) -> ClusterProcess:
            cluster = ClusterProcess(**options).start()
            started.append(cluster)
            return cluster

    yield Factory()
    for cluster in started:
        cluster.stop()
    connection.close()


def pytest_sessionfinish(session, exitstatus):
    """Stop the embedded server if this test session started it."""
    if not _embedded_was_running and localdb.running_address() is not None:
        from django.db import connections

        connections.close_all()
        localdb.stop()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on localhost; Django's SMTP backend points at it."""
    from tests.support.smtp import LocalSmtpServer

    with LocalSmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        yield server.mailbox
