"""A server out of connections (a PostgreSQL of this test's own at max_connections = 20): a
running node whose connections were terminated, and a node starting, both wait with backoff and
a clear log line, neither exits nor restarts, and once connections free up they drain every job
exactly once."""

from __future__ import annotations

import contextlib
import time

import psycopg
import pytest

from tests.support import pgservers
from tests.support.clusters import ClusterProcess
from tests.support.polling import wait_until
from tests.support.topology_workers import EFFECT_TABLE
from tests.topology.test_failover import counts, insert_effect_jobs

pytestmark = [pytest.mark.cluster]
DBNAME = "topology_budget"
JOBS = 400
FULL = "max_connections reached"


@pytest.fixture
def small_server():
    if not pgservers.available():
        pytest.skip("PostgreSQL 15 binaries are not installed")
    server = pgservers.PgServer.primary(max_connections=20).start()
    try:
        server.execute(f"CREATE DATABASE {DBNAME}")
        pgservers.migrate(server.url(DBNAME))
        server.execute(EFFECT_TABLE, dbname=DBNAME)
        yield server
    finally:
        pgservers.remove(server)


class Hog:
    """Takes every free connection slot, and terminates every other session of the database,
    until released."""

    def __init__(self, server: pgservers.PgServer):
        self.server = server
        self.held: list[psycopg.Connection] = []

    def grab(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.held.append(
                    psycopg.connect(self.server.url(DBNAME), autocommit=True, connect_timeout=2)
                )
                continue
            except psycopg.OperationalError:
                pass
            if self.held:
                self.held[0].execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend' AND pid <> ALL(%s)",
                    [[conn.info.backend_pid for conn in self.held]],
                )
            time.sleep(0.05)

    def release(self) -> None:
        for conn in self.held:
            with contextlib.suppress(Exception):
                conn.close()
        self.held = []


def test_a_full_server_makes_nodes_wait_and_they_recover_without_losing_a_job(small_server):
    url = small_server.url(DBNAME)
    insert_effect_jobs(url, JOBS, args='{"sleep": 0.02}')
    env = {
        "DATABASE_URL": url,
        "JOBS_WORKER_MODULES": "tests.support.workers,tests.support.topology_workers",
    }
    running = ClusterProcess(concurrency=2, env=env).start()
    starting = None
    hog = Hog(small_server)
    try:
        running.wait_ready()
        wait_until(lambda: counts(url).get("completed", 0) >= 50, timeout=60, message="50 done")
        hog.grab(3.0)
        assert len(hog.held) >= 15, "the hog holds the server's connections"
        starting = ClusterProcess(concurrency=2, env=env).start()
        hog.grab(8.0)  # keeps terminating whatever the nodes manage to open
        assert running.process.poll() is None, running.output()
        assert starting.process.poll() is None, starting.output()
        assert FULL in running.output(), running.output()[-3000:]
        assert FULL in starting.output() and "waiting" in starting.output(), starting.output()
        assert " ready:" not in starting.output()
        hog.release()
        starting.wait_ready(timeout=60)
        wait_until(
            lambda: counts(url).get("completed", 0) == JOBS,
            timeout=120,
            message="every job completed once connections were free",
        )
        final = counts(url)
        assert final["effects"] == JOBS and final["doubled"] == 0, final
        assert set(final) == {"completed", "effects", "doubled"}, final
        assert running.process.poll() is None and starting.process.poll() is None
    finally:
        hog.release()
        running.stop()
        if starting is not None:
            starting.stop()
