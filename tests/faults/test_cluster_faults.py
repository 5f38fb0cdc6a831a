"""Breaking things on purpose: killed clusters, killed connections, a restarted server.

Every job must end completed, none lost and none completed twice. The test workers' "done"
record is written in the job's own transaction, so it exists once per committed attempt."""

import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from healthcare_cms.localdb.server import quiet_embedded_postgres
from tests.support.clusters import PROJECT_ROOT, ClusterProcess
from tests.support.polling import wait_until
from tests.support.workers import RecordingWorker
from workflows.jobs import Job, insert_all

pytestmark = [pytest.mark.cluster]
FAST_LIFELINE = {"JOBS_NODE_DEAD_AFTER_SECONDS": "3"}


def _completed() -> int:
    return Job.objects.filter(state="completed").count()


def _assert_each_job_done_exactly_once(job_ids, executions):
    done = Counter(row["job_id"] for row in executions("done"))
    assert set(done) == set(job_ids), "every job ran to completion"
    assert max(done.values()) == 1, [job for job, n in done.items() if n > 1]
    assert Job.objects.filter(pk__in=job_ids).exclude(state="completed").count() == 0


def test_sigkill_of_a_whole_cluster_mid_drain_loses_no_job_and_completes_none_twice(
    clusters, executions
):
    jobs = [job.pk for job in insert_all([RecordingWorker.new({"n": i}) for i in range(1000)])]
    doomed = clusters.start(concurrency=3, env=FAST_LIFELINE)
    wait_until(lambda: _completed() >= 250, timeout=120, message="a quarter of the jobs done")
    doomed.kill()
    doomed.wait(10)
    assert _completed() < 1000, "the kill landed mid-drain"
    clusters.start(concurrency=3, env=FAST_LIFELINE)
    wait_until(lambda: _completed() == 1000, timeout=180, message="every job completed")
    _assert_each_job_done_exactly_once(jobs, executions)
    rescued = [
        job
        for job in Job.objects.exclude(errors=[])
        if "stopped heartbeating" in job.errors[0]["error"]
    ]
    assert rescued, "jobs the killed node held were rescued"


def test_terminated_database_connections_mid_drain_are_recovered_from(clusters, executions):
    jobs = [job.pk for job in insert_all([RecordingWorker.new({"n": i}) for i in range(1000)])]
    clusters.start(concurrency=3, env={"PGAPPNAME": "qcluster-under-test"})
    wait_until(lambda: _completed() >= 200, timeout=120)
    terminated = 0
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'qcluster-under-test'"
            )
            terminated += cursor.fetchone()[0]
        done_before = _completed()
        wait_until(
            lambda done_before=done_before: _completed() > done_before + 50 or _completed() == 1000,
            timeout=60,
            message="work to resume",
        )
    assert terminated >= 3, "the cluster's connections were killed"
    wait_until(lambda: _completed() == 1000, timeout=180)
    _assert_each_job_done_exactly_once(jobs, executions)


@pytest.fixture
def own_server():
    """A PostgreSQL server of this test's own (embedded binaries), free to restart."""
    embedded_postgres = quiet_embedded_postgres()
    folder = Path(tempfile.mkdtemp(prefix="pg-restart-"))
    os.chmod(folder, 0o755)
    server = embedded_postgres.get_server(folder / "data", cleanup_mode=None)
    info = server.get_postmaster_info()
    base = f"postgresql://postgres@/%s?host={info.socket_dir}&port={info.port or 5432}"
    with psycopg.connect(base % "postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE faults")
    yield server, base % "faults"
    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=user)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_postgresql_restart_mid_drain_is_recovered_from(own_server):
    embedded_postgres = quiet_embedded_postgres()
    server, url = own_server
    env = {**os.environ, "DATABASE_URL": url, "JOBS_WORKER_MODULES": "tests.support.workers"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    from tests.conftest import EXECUTIONS_TABLE

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(EXECUTIONS_TABLE)
        conn.execute(
            "INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, "
            "max_attempts, priority, scheduled_at, inserted_at, uniq_states) "
            "SELECT 'available', 'default', 'tests.support.workers.RecordingWorker', "
            "jsonb_build_object('n', g), '{}', '{}', '[]', 0, 20, 0, now(), now(), 0 "
            "FROM generate_series(1, 1000) g"
        )

    def completed() -> int:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
                return conn.execute(
                    "SELECT count(*) FROM jobs_job WHERE state = 'completed'"
                ).fetchone()[0]
        except psycopg.OperationalError:
            return -1

    cluster = ClusterProcess(concurrency=3, env={"DATABASE_URL": url})
    cluster.start()
    try:
        wait_until(lambda: completed() >= 200, timeout=120, message="a fifth of the jobs done")
        assert completed() < 1000, "the restart lands mid-drain"
        user = "embedded_postgres" if os.geteuid() == 0 else None
        embedded_postgres.pg_ctl(
            ["-w", "-m", "immediate", "restart"], pgdata=server.pgdata, user=user, timeout=60
        )
        wait_until(lambda: completed() == 1000, timeout=240, message="every job completed")
        assert cluster.process.poll() is None, "the cluster recovered by itself"
        with psycopg.connect(url, autocommit=True) as conn:
            (twice,) = conn.execute(
                "SELECT count(*) FROM (SELECT job_id FROM test_executions WHERE kind = 'done' "
                "GROUP BY job_id HAVING count(*) > 1) t"
            ).fetchone()
            (done,) = conn.execute(
                "SELECT count(DISTINCT job_id) FROM test_executions WHERE kind = 'done'"
            ).fetchone()
        assert (done, twice) == (1000, 0)
    finally:
        cluster.stop()
