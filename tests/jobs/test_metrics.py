"""The per-minute metrics behind the dashboard's charts: rolled up from the jobs table by the
leader, no args, surviving the pruning of the jobs, kept 30 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.support.workers import FailingWorker, RecordingWorker
from workflows.jobs.models import Job, JobMetric
from workflows.jobs.node.supervisor import Supervisor
from workflows.jobs.policy.metrics import bucket_percentile
from workflows.jobs.store import metrics

pytestmark = pytest.mark.django_db

RECORDING = "tests.support.workers.RecordingWorker"


def _ended(worker, state: str, *, at, waited_ms: int, ran_ms: int) -> Job:
    """A job whose attempt started `ran_ms` before `at` after waiting `waited_ms`, and ended
    in `state` at `at` (a retryable job: failed, counted at its start)."""
    job = worker.enqueue({"post_id": 1})
    started = at - timedelta(milliseconds=ran_ms)
    fields = {
        "state": state,
        "attempt": 1,
        "attempted_at": started,
        "scheduled_at": started - timedelta(milliseconds=waited_ms),
    }
    if state != "retryable":
        fields[f"{state}_at"] = at
    Job.objects.filter(pk=job.pk).update(**fields)
    return job


def _rollup(now) -> int:
    with connection.cursor() as cursor:
        return metrics.rollup(cursor, now=now)


def test_the_rollup_counts_each_closed_minute_by_queue_worker_and_outcome():
    now = timezone.now().replace(second=30, microsecond=0)
    last_minute = now.replace(second=0) - timedelta(seconds=30)
    for waited in (5, 20, 20):
        _ended(RecordingWorker, "completed", at=last_minute, waited_ms=waited, ran_ms=100)
    _ended(FailingWorker, "discarded", at=last_minute, waited_ms=2_000, ran_ms=10)
    _ended(FailingWorker, "retryable", at=last_minute, waited_ms=0, ran_ms=0)
    _ended(RecordingWorker, "completed", at=now, waited_ms=5, ran_ms=5)  # minute still open

    assert _rollup(now) == 3
    rows = {
        (row.worker.rsplit(".", 1)[-1], row.outcome): row
        for row in JobMetric.objects.filter(minute=last_minute.replace(second=0))
    }
    assert set(rows) == {
        ("RecordingWorker", "completed"),
        ("FailingWorker", "discarded"),
        ("FailingWorker", "failed"),
    }
    done = rows[("RecordingWorker", "completed")]
    assert (done.queue, done.count, done.duration_ms_sum, done.wait_ms_sum) == (
        "default",
        3,
        300,
        45,
    )
    assert done.wait_ms_buckets[:2] == [1, 2]  # < 10 ms, 10-50 ms
    assert bucket_percentile(done.wait_ms_buckets, 0.95) == 50
    assert not JobMetric.objects.filter(minute=now.replace(second=0)).exists()
    assert _rollup(now) == 3  # recomputed, not added twice
    assert JobMetric.objects.get(pk=done.pk).count == 3


def test_metrics_outlive_the_jobs_and_are_pruned_after_30_days():
    now = timezone.now().replace(second=30, microsecond=0)
    last_minute = now.replace(second=0) - timedelta(seconds=30)
    _ended(RecordingWorker, "completed", at=last_minute, waited_ms=1, ran_ms=1)
    _rollup(now)
    Job.objects.all().delete()  # what the pruner does to old jobs
    _rollup(now + timedelta(minutes=20))
    assert JobMetric.objects.get(worker=RECORDING).count == 1
    JobMetric.objects.create(
        minute=now - timedelta(days=31),
        queue="default",
        worker=RECORDING,
        outcome="completed",
        count=5,
    )
    with connection.cursor() as cursor:
        assert metrics.prune(cursor) == 1
    assert list(JobMetric.objects.values_list("count", flat=True)) == [1]


def test_the_leader_rolls_metrics_up():
    from workflows.jobs.conf import jobs_settings

    duties = {
        task.action.__name__: task.leader_only for task in Supervisor.task_table(jobs_settings())
    }
    assert duties["rollup_metrics"] is True


def test_the_rollup_runs_on_a_node_s_own_connection():
    """As the leader's supervisor runs it: an autocommit psycopg connection, not Django's."""
    from workflows.jobs.store import database

    with database.connect() as conn:
        assert metrics.rollup(conn) >= 0
        assert metrics.prune(conn) >= 0
