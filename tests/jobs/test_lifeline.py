"""Orphaned jobs: rescued when their node stops heartbeating, never while it lives."""

import os
import signal
from datetime import datetime, timedelta

import psutil
import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import NodeFactory
from tests.support.polling import wait_until
from tests.support.workers import LongFirstAttemptWorker, RecordingWorker
from workflows.jobs import Job
from workflows.jobs.conf import jobs_settings
from workflows.jobs.models import Node
from workflows.jobs.store.maintenance import rescue_orphaned_jobs


def _executing(job, *, node: str, attempted_ago: timedelta, attempt: int = 1):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE jobs_job SET state = 'executing', attempt = %s, attempted_by = ARRAY[%s], "
            "attempted_at = now() - %s WHERE id = %s",
            [attempt, node, attempted_ago, job.pk],
        )


def _rescue() -> int:
    with connection.cursor() as cursor:
        return rescue_orphaned_jobs(cursor, jobs_settings())


@pytest.mark.django_db
class TestRescue:
    def test_a_job_on_a_node_that_stopped_heartbeating_goes_back_to_available(self):
        dead = NodeFactory(heartbeat_at=timezone.now() - timedelta(minutes=2))
        job = RecordingWorker.enqueue({})
        _executing(job, node=dead.name, attempted_ago=timedelta(minutes=3))
        assert _rescue() == 1
        job.refresh_from_db()
        assert job.state == "available" and job.attempt == 1
        assert "stopped heartbeating" in job.errors[-1]["error"]
        assert not Node.objects.filter(pk=dead.pk).exists(), "the dead node is removed after"

    def test_a_job_on_a_live_node_is_never_rescued_however_long_it_runs(self):
        alive = NodeFactory(heartbeat_at=timezone.now())
        job = RecordingWorker.enqueue({})
        _executing(job, node=alive.name, attempted_ago=timedelta(days=3))
        assert _rescue() == 0
        job.refresh_from_db()
        assert job.state == "executing"

    def test_a_rescued_job_with_no_attempts_left_is_discarded(self):
        dead = NodeFactory(heartbeat_at=timezone.now() - timedelta(minutes=2))
        job = RecordingWorker.enqueue({}, max_attempts=1)
        _executing(job, node=dead.name, attempted_ago=timedelta(minutes=3))
        _rescue()
        job.refresh_from_db()
        assert job.state == "discarded" and job.discarded_at is not None

    def test_a_job_no_known_node_owns_is_rescued_only_after_rescue_after(self, settings):
        settings.JOBS = {**settings.JOBS, "rescue_after_seconds": 1800}
        young = RecordingWorker.enqueue({"n": 1})
        old = RecordingWorker.enqueue({"n": 2})
        _executing(young, node="gone-node", attempted_ago=timedelta(minutes=29))
        _executing(old, node="gone-node", attempted_ago=timedelta(minutes=31))
        assert _rescue() == 1
        young.refresh_from_db()
        old.refresh_from_db()
        assert young.state == "executing"
        assert old.state == "available" and "no live node owned" in old.errors[-1]["error"]


@pytest.mark.cluster
def test_a_sigkilled_cluster_s_job_is_rescued_by_another_node_and_completes(clusters, executions):
    """With the shipped timing (heartbeat every 5 s, dead after 30 s of silence): within a
    minute."""
    shipped_timing = {"JOBS_HEARTBEAT_INTERVAL_SECONDS": "5"}  # the test default is 1 s
    doomed = clusters.start(concurrency=1, env=shipped_timing).wait_ready()
    job = LongFirstAttemptWorker.enqueue({"sleep": 60})
    wait_until(
        lambda: executions("start"), timeout=30, message="the job to start on the first node"
    )
    tree = [doomed.pid, *(p.pid for p in psutil.Process(doomed.pid).children(recursive=True))]
    killed_at = timezone.now()
    doomed.kill()
    doomed.wait(10)
    wait_until(
        lambda: (
            not any(
                psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in tree
            )
        ),
        timeout=10,
        message="every process of the killed node to be gone",
    )
    clusters.start(concurrency=1, env=shipped_timing)
    wait_until(
        lambda: Job.objects.get(pk=job.pk).state == "completed",
        timeout=90,
        message="the rescued job to complete on the other node",
    )
    job.refresh_from_db()
    assert job.attempt == 2
    assert "stopped heartbeating" in job.errors[0]["error"]
    rescued_at = datetime.fromisoformat(job.errors[0]["at"])
    assert (rescued_at - killed_at).total_seconds() < 60, "rescued within a minute"
    assert [row["attempt"] for row in executions("start")] == [1, 2]
    assert [row["attempt"] for row in executions("done")] == [2]


@pytest.mark.cluster
def test_a_sigkilled_worker_process_s_job_is_retried_and_completes(clusters, executions):
    node = clusters.start(concurrency=2).wait_ready()
    job = LongFirstAttemptWorker.enqueue({"sleep": 60})
    (first,) = wait_until(lambda: executions("start"), timeout=30)
    os.kill(first["pid"], signal.SIGKILL)
    wait_until(lambda: Job.objects.get(pk=job.pk).state == "completed", timeout=30)
    job.refresh_from_db()
    assert job.attempt == 2 and "worker process" in job.errors[0]["error"]
    assert [row["attempt"] for row in executions("done")] == [2]
    assert node.process.poll() is None, "the node replaced its worker and kept running"
