"""The engine through a real PgBouncer in transaction pooling mode (Debian's 1.18, which has no
prepared-statement support): nodes claim, record outcomes, heartbeat, lead, rescue and shut
down through it, and the engine's cluster tests that matter pass through it as they do direct.

Each test here would fail on the engine before transaction pooling was supported: psycopg's
automatic and explicit server-side prepares fail with `prepared statement "_pg3_N" does not
exist / already exists` once two sessions share a server connection, LISTEN on a pooled
connection hears nothing, and the supervisor's session `SET`s leak into other clients."""

from __future__ import annotations

import psycopg
import pytest

from tests.jobs import test_cluster_execution as cluster_execution
from tests.jobs import test_lifeline as lifeline
from tests.jobs import test_queue_control as queue_control
from tests.jobs import test_shutdown as shutdown
from tests.support.polling import wait_until
from tests.support.topology_workers import NoWriteWorker
from workflows.jobs import Job, insert_all

pytestmark = [pytest.mark.cluster]


class _PooledOnly:
    """The `clusters` fixture the direct tests take, bound to PgBouncer."""

    def __init__(self, pooled_clusters):
        self._pooled = pooled_clusters

    def start(self, **options):
        return self._pooled.start(**options)


def test_two_nodes_drain_jobs_that_write_nothing_through_pgbouncer(pooled_clusters):
    """Outcomes written on their own (no perform writes): the statements psycopg would
    prepare on the process's outcome connection must not be prepared."""
    first = pooled_clusters.start(concurrency=3)
    second = pooled_clusters.start(concurrency=3)
    first.wait_ready(), second.wait_ready()
    jobs = insert_all([NoWriteWorker.new({}) for _ in range(600)])
    wait_until(
        lambda: Job.objects.filter(state="completed").count() == len(jobs),
        timeout=120,
        message="every job completed through pgbouncer",
    )
    assert Job.objects.exclude(state="completed").count() == 0
    assert not Job.objects.exclude(errors=[]).exists(), "no attempt failed on the way"
    for node in (first, second):
        assert "prepared statement" not in node.output()
        assert "DuplicatePreparedStatement" not in node.output()


def test_claims_exactly_once_through_pgbouncer(pooled_clusters, executions):
    cluster_execution.test_two_clusters_drain_two_thousand_jobs_each_performed_exactly_once(
        _PooledOnly(pooled_clusters), executions
    )


def test_a_committed_job_runs_and_a_rolled_back_one_never_does_through_pgbouncer(
    pooled_clusters, executions
):
    cluster_execution.test_a_committed_job_runs_and_a_rolled_back_one_never_does(
        _PooledOnly(pooled_clusters), executions
    )


def test_a_timed_out_job_is_stopped_and_retried_through_pgbouncer(pooled_clusters, executions):
    cluster_execution.test_a_job_past_its_timeout_is_stopped_and_retried(
        _PooledOnly(pooled_clusters), executions
    )


def test_a_queue_limit_holds_across_nodes_through_pgbouncer(pooled_clusters, executions):
    queue_control.test_four_clusters_on_one_queue_with_a_limit_of_three_never_exceed_it(
        _PooledOnly(pooled_clusters), executions
    )


def test_a_sigkilled_node_s_job_is_rescued_through_pgbouncer(pooled_clusters, executions):
    lifeline.test_a_sigkilled_cluster_s_job_is_rescued_by_another_node_and_completes(
        _PooledOnly(pooled_clusters), executions
    )


def test_sigterm_shutdown_through_pgbouncer(pooled_clusters, executions):
    shutdown.test_sigterm_lets_running_jobs_finish_and_returns_unstarted_ones(
        _PooledOnly(pooled_clusters), executions, False
    )


def test_without_a_listen_url_a_pooled_node_says_it_polls_and_still_finds_new_jobs(
    pooled_clusters,
):
    node = pooled_clusters.start(concurrency=2, listen=False).wait_ready()
    assert "JOBS_LISTEN_DATABASE_URL is not set, so this node polls" in node.output()
    job = NoWriteWorker.enqueue({})
    wait_until(
        lambda: Job.objects.get(pk=job.pk).state == "completed",
        timeout=10,
        message="a polling node to find the job",
    )


def test_no_session_setting_of_the_engine_leaks_into_pooled_server_connections(
    pooled_clusters,
):
    """The supervisor's lock_timeout/statement_timeout apply to its own transactions only:
    every server connection PgBouncer lends to another client keeps the defaults."""
    bouncer = pooled_clusters.bouncer
    node = pooled_clusters.start(concurrency=2).wait_ready()
    insert_all([NoWriteWorker.new({}) for _ in range(100)])
    wait_until(lambda: Job.objects.filter(state="completed").count() == 100, timeout=60)
    node.terminate()
    assert node.wait(30) == 0
    from django.db import connection

    name = connection.settings_dict["NAME"]
    # Hold one transaction per server connection of the pool, so each of them is inspected.
    clients = [
        psycopg.connect(bouncer.url(name), prepare_threshold=None) for _ in range(bouncer.pool_size)
    ]
    try:
        seen = set()
        for client in clients:
            seen.add(
                client.execute(
                    "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'),"
                    " pg_backend_pid()"
                ).fetchone()
            )
        assert {(lock, statement) for lock, statement, _ in seen} == {("0", "0")}
        assert len({pid for *_, pid in seen}) == len(clients), "distinct server connections"
    finally:
        for client in clients:
            client.close()


def test_management_commands_work_through_pgbouncer(pooled_clusters):
    import os
    import subprocess
    import sys

    from tests.support.clusters import PROJECT_ROOT
    from tests.topology.conftest import pooled_env

    NoWriteWorker.enqueue({})
    env = {**os.environ, **pooled_env(pooled_clusters.bouncer)}
    for command in (["jobs", "status"], ["jobs", "prune"], ["jobs", "sync"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "default"
        in subprocess.run(
            [sys.executable, "manage.py", "jobs", "status"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    )
