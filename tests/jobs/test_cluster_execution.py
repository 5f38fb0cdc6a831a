"""The engine executed by real qcluster subprocesses."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tests.support.polling import wait_until
from tests.support.workers import FailingWorker, RecordingWorker, SleepyWorker
from workflows.jobs import Job, insert_all

pytestmark = [pytest.mark.cluster]


def _states() -> dict[str, int]:
    from django.db.models import Count

    return dict(Job.objects.values_list("state").annotate(n=Count("id")))


def _nodes_that_ran(queue: str) -> set[str]:
    rows = Job.objects.filter(queue=queue, state="completed").values_list("attempted_by", flat=True)
    return {attempted_by[0] for attempted_by in rows}


def _until_both_nodes_claim():
    """One warm-up job at a time (queue email) until each node has run one: both are then
    claiming, so neither can drain the batch alone before the other is up."""

    def both_claimed() -> bool:
        job = RecordingWorker.enqueue({"warm_up": True}, queue="email")
        wait_until(lambda: Job.objects.get(pk=job.pk).state == "completed", timeout=30)
        return len(_nodes_that_ran("email")) == 2

    wait_until(both_claimed, timeout=90, message="both nodes to run a warm-up job")


def test_two_clusters_drain_two_thousand_jobs_each_performed_exactly_once(clusters, executions):
    first, second = clusters.start(concurrency=3), clusters.start(concurrency=3)
    first.wait_ready(), second.wait_ready()
    _until_both_nodes_claim()
    jobs = insert_all([RecordingWorker.new({"n": i}) for i in range(2000)])
    wait_until(
        lambda: Job.objects.filter(queue="default", state="completed").count() == 2000,
        timeout=120,
        message="all 2,000 jobs completed",
    )
    done = [row for row in executions("done") if row["queue"] == "default"]
    assert len(done) == 2000
    assert sorted(row["job_id"] for row in done) == sorted(job.pk for job in jobs)
    # "start" is written on its own connection before perform: perform was called once per job.
    starts = [row for row in executions("start") if row["queue"] == "default"]
    assert sorted(row["job_id"] for row in starts) == sorted(job.pk for job in jobs)
    assert len(_nodes_that_ran("default")) == 2, "both clusters took part"
    assert first.process.poll() is None and second.process.poll() is None


def test_priority_order_holds_within_a_queue(clusters, executions):
    priorities = [5, 0, 9, 3, 0, 7, 1, 9, 2, 4]
    insert_all([RecordingWorker.new({"p": p}, priority=p) for p in priorities])
    clusters.start(concurrency=1, env={"JOBS_PREFETCH": "0"})
    wait_until(lambda: len(executions("done")) == len(priorities), timeout=60)
    ran = [Job.objects.get(pk=row["job_id"]).priority for row in executions("start")]
    assert ran == sorted(priorities)


def test_a_scheduled_job_does_not_run_before_its_time(clusters, executions):
    clusters.start(concurrency=1).wait_ready()
    at = timezone.now() + timedelta(seconds=3)
    job = RecordingWorker.enqueue({"scheduled": True}, scheduled_at=at)
    assert job.state == "scheduled"
    wait_until(lambda: executions("start"), timeout=30, message="the scheduled job to start")
    assert executions("start")[0]["started"] >= at


def test_a_committed_job_runs_and_a_rolled_back_one_never_does(clusters, executions):
    clusters.start(concurrency=1).wait_ready()
    with pytest.raises(RuntimeError), transaction.atomic():
        doomed = RecordingWorker.enqueue({"doomed": True})
        raise RuntimeError("roll back")
    with transaction.atomic():
        kept = RecordingWorker.enqueue({"kept": True})
    wait_until(lambda: Job.objects.get(pk=kept.pk).state == "completed", timeout=30)
    time.sleep(1.5)  # a rolled-back job has nothing to wait for; give a wrong engine a chance
    assert [row["job_id"] for row in executions("start")] == [kept.pk]
    assert not Job.objects.filter(pk=doomed.pk).exists()


def test_a_job_that_always_raises_ends_discarded_with_three_masked_errors(clusters):
    job = FailingWorker.enqueue({"n": 1})
    clusters.start(concurrency=1)
    wait_until(lambda: Job.objects.get(pk=job.pk).state == "discarded", timeout=60)
    job.refresh_from_db()
    assert [entry["attempt"] for entry in job.errors] == [1, 2, 3]
    assert all("RuntimeError: boom" in entry["error"] for entry in job.errors)
    assert all(
        "529.982.247-25" not in entry["error"] and "[CPF]" in entry["error"] for entry in job.errors
    )
    assert job.discarded_at is not None


def test_a_job_past_its_timeout_is_stopped_and_retried(clusters, executions):
    job = SleepyWorker.enqueue({"sleep": 60})
    clusters.start(concurrency=1)
    wait_until(lambda: Job.objects.get(pk=job.pk).state == "completed", timeout=60)
    job.refresh_from_db()
    assert job.attempt == 2
    assert "exceeded its timeout of 2 s" in job.errors[0]["error"]
    starts = executions("start")
    assert [row["attempt"] for row in starts] == [1, 2]
    assert [row["attempt"] for row in executions("done")] == [2]


def test_an_idle_node_finds_a_job_whose_notification_was_lost_within_a_second(clusters):
    from django.db import connection

    clusters.start(concurrency=1).wait_ready()
    warm = RecordingWorker.enqueue({"warm": True})
    wait_until(lambda: Job.objects.get(pk=warm.pk).state == "completed", timeout=30)

    with transaction.atomic(), connection.cursor() as cursor:
        # Triggers do not fire for this transaction: the insert sends no NOTIFY.
        cursor.execute("SET LOCAL session_replication_role = replica")
        silent = RecordingWorker.enqueue({"silent": True})
        cursor.execute("SELECT clock_timestamp()")
        (committing_at,) = cursor.fetchone()

    wait_until(lambda: Job.objects.get(pk=silent.pk).state == "completed", timeout=30)
    silent.refresh_from_db()
    waited = (silent.attempted_at - committing_at).total_seconds()
    assert waited < 1.5, f"picked up by polling after {waited:.2f} s"
