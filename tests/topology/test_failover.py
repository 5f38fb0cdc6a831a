"""PostgreSQL failover under load: a primary with a synchronous streaming standby (Debian's
PostgreSQL 15: initdb, pg_basebackup -R, pg_ctl promote), two real nodes and a real gunicorn on a
multi-host DATABASE_URL with target_session_attrs=read-write. Mid-drain the primary is stopped
hard (immediate) and the standby promoted: the nodes and the web carry on against the new
primary without a restart, within 30 s, and every job inserted before the stop completes
exactly once (its effect row is written in its own transaction), none left executing."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.support import pgservers
from tests.support.clusters import ClusterProcess
from tests.support.polling import wait_until
from tests.support.topology_workers import EFFECT_TABLE
from tests.support.web import Gunicorn, failed_sign_in, production_env

pytestmark = [pytest.mark.cluster]
JOBS = 1500
DBNAME = "topology_failover"


def insert_effect_jobs(url: str, count: int, *, args: str = "{}") -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, "
            "max_attempts, priority, scheduled_at, inserted_at, uniq_states) "
            "SELECT 'available', 'default', 'tests.support.topology_workers.EffectWorker', "
            "%s::jsonb || jsonb_build_object('n', g), '{}', '{}', '[]', 0, 20, 0, now(), "
            "now(), 0 FROM generate_series(1, %s) g",
            [args, count],
        )


def counts(url: str) -> dict[str, int]:
    """{state: jobs}, plus 'effects' and 'doubled' (jobs with more than one effect row);
    {} when the database cannot be reached."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            states = dict(conn.execute("SELECT state, count(*) FROM jobs_job GROUP BY state"))
            (effects, doubled) = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE n > 1) FROM "
                "(SELECT job_id, count(*) AS n FROM topology_effects GROUP BY job_id) e"
            ).fetchone()
    except psycopg.OperationalError:
        return {}
    return {**states, "effects": effects, "doubled": doubled}


@pytest.fixture
def replicated():
    """(primary, standby, multi-host URL): migrated, streaming synchronously."""
    if not pgservers.available():
        pytest.skip("PostgreSQL 15 binaries are not installed")
    primary = pgservers.PgServer.primary().start()
    servers = [primary]
    try:
        primary.execute(f"CREATE DATABASE {DBNAME}")
        pgservers.migrate(primary.url(DBNAME))
        primary.execute(EFFECT_TABLE, dbname=DBNAME)
        standby = primary.standby("standby").start()
        servers.append(standby)
        primary.require_synchronous("standby")
        url = (
            f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/{DBNAME}"
            "?target_session_attrs=read-write&connect_timeout=3"
        )
        yield primary, standby, url
    finally:
        pgservers.remove(*servers)


def test_promoting_the_standby_mid_drain_loses_and_doubles_no_job(replicated):
    primary, standby, url = replicated
    insert_effect_jobs(url, JOBS, args='{"sleep": 0.01}')
    env = {
        "DATABASE_URL": url,
        "JOBS_WORKER_MODULES": "tests.support.workers,tests.support.topology_workers",
        "JOBS_NODE_DEAD_AFTER_SECONDS": "6",
    }
    nodes = [ClusterProcess(concurrency=3, env=env).start() for _ in range(2)]
    web = Gunicorn(production_env(url)).start()
    try:
        for node in nodes:
            node.wait_ready()
        assert failed_sign_in(web.base) == 200, web.output()
        wait_until(lambda: counts(url).get("completed", 0) >= 300, timeout=120, message="300 done")
        drain_started = time.monotonic()
        primary.stop("immediate")
        stopped_at = time.monotonic()
        before = counts(standby.url(DBNAME)).get("completed", 0)
        assert before < JOBS, "the primary stopped mid-drain"
        standby.promote()

        wait_until(
            lambda: counts(url).get("completed", 0) > before + 50,
            timeout=30,
            message="the nodes to complete jobs on the promoted standby",
        )
        nodes_back = time.monotonic() - stopped_at
        wait_until(
            lambda: failed_sign_in(web.base) == 200,
            timeout=max(1.0, 30 - (time.monotonic() - stopped_at)),
            message="the web to use the promoted standby",
        )
        web_back = time.monotonic() - stopped_at
        wait_until(
            lambda: counts(url).get("completed", 0) == JOBS,
            timeout=240,
            message="every job completed on the new primary",
        )
        final = counts(url)
        assert final["effects"] == JOBS and final["doubled"] == 0, final
        assert set(final) == {"completed", "effects", "doubled"}, "nothing left executing"
        assert all(node.process.poll() is None for node in nodes), "no node restarted"
        print(
            f"failover: nodes back after {nodes_back:.1f} s, web after {web_back:.1f} s, "
            f"all done {time.monotonic() - stopped_at:.1f} s after the stop "
            f"({stopped_at - drain_started:.1f} s before it)"
        )
    finally:
        web.stop()
        for node in nodes:
            node.stop()
