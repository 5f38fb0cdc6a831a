"""Queue control at runtime: pause, resume, scale, check; limits hold across nodes."""

import random
import threading
import time

import pytest
from django.db import connection, connections

from tests.support.overlap import max_overlap
from tests.support.polling import wait_until
from tests.support.workers import RecordingWorker
from workflows.jobs import Job, check_queue, insert_all, pause_queue, resume_queue, scale_queue
from workflows.jobs.api.queues import UnknownQueueError, sync_queues
from workflows.jobs.models import Queue


def _db_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


@pytest.mark.django_db
class TestQueueState:
    def test_queues_defined_in_settings_are_created_and_keep_runtime_changes(self, settings):
        sync_queues()
        assert set(Queue.objects.values_list("name", flat=True)) == set(settings.JOBS["queues"])
        scale_queue("email", 2)
        sync_queues()
        assert Queue.objects.get(name="email").limit == 2, "a restart keeps the runtime limit"
        settings.JOBS = {
            **settings.JOBS,
            "queues": {**settings.JOBS["queues"], "email": {"limit": 7}},
        }
        sync_queues()
        assert Queue.objects.get(name="email").limit == 7, "a changed setting wins"

    def test_pause_resume_and_scale_persist_and_check_queue_reports_them(self):
        sync_queues()
        RecordingWorker.enqueue({}, queue="email")
        RecordingWorker.enqueue({}, queue="email", schedule_in=60)
        pause_queue("email")
        scale_queue("email", 4)
        report = check_queue("email")
        assert report == {
            "name": "email",
            "limit": 4,
            "paused": True,
            "running": 0,
            "available": 1,
            "scheduled": 1,
            "retryable": 0,
            "nodes": [],
            "rate_limit": None,
            "partition": None,
        }
        resume_queue("email")
        assert check_queue("email")["paused"] is False

    def test_unknown_queues_and_bad_limits_are_refused(self):
        sync_queues()
        with pytest.raises(UnknownQueueError, match="unknown queue 'emial'"):
            pause_queue("emial")
        with pytest.raises(ValueError, match="whole number >= 1"):
            scale_queue("email", 0)


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_claimers_never_exceed_a_queue_limit():
    """16 claimers (distinct nodes) hammer one queue with a limit of 3; a sampler watches."""
    sync_queues()
    scale_queue("email", 3)
    insert_all([RecordingWorker.new({"n": i}, queue="email") for i in range(600)])
    stop = threading.Event()
    peak = {"value": 0}
    errors = []

    def sampler():
        from workflows.jobs.store import database

        with database.connect() as conn:
            while not stop.is_set():
                (running,) = conn.execute(
                    "SELECT count(*) FROM jobs_job WHERE queue = 'email' AND state = 'executing'"
                ).fetchone()
                peak["value"] = max(peak["value"], running)

    def claimer(index: int):
        from workflows.jobs.store import database

        rng = random.Random(index)
        try:
            deadline = time.monotonic() + 60
            with database.connect() as conn:
                while time.monotonic() < deadline:
                    (result,) = conn.execute(
                        "SELECT jobs_claim(%s, 5, ARRAY['email'], 0)", [f"stress-{index}"]
                    ).fetchone()
                    ids = [job["id"] for job in result["jobs"]]
                    if not ids and not result["contended"]:
                        (left,) = conn.execute(
                            "SELECT count(*) FROM jobs_job WHERE state "
                            "IN ('available', 'executing')"
                        ).fetchone()
                        if not left:
                            return
                    if ids:
                        time.sleep(rng.random() * 0.01)
                        conn.execute(
                            "UPDATE jobs_job SET state = 'completed', completed_at = now() "
                            "WHERE id = ANY(%s)",
                            [ids],
                        )
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    watcher = threading.Thread(target=sampler)
    watcher.start()
    claimers = [threading.Thread(target=claimer, args=(i,)) for i in range(16)]
    for thread in claimers:
        thread.start()
    for thread in claimers:
        thread.join(120)
    stop.set()
    watcher.join(10)
    connections.close_all()
    assert not errors, errors
    assert Job.objects.filter(state="completed").count() == 600, "the claimers did all the work"
    assert 1 <= peak["value"] <= 3


@pytest.mark.cluster
def test_pause_stops_every_node_starting_jobs_within_a_second_and_resume_restarts(
    clusters, executions
):
    sync_queues()
    insert_all([RecordingWorker.new({"sleep": 0.3}, queue="email") for _ in range(60)])
    nodes = [clusters.start(concurrency=2), clusters.start(concurrency=2)]
    wait_until(lambda: len(executions("done")) >= 4, timeout=60, message="jobs to flow")
    paused_at = _db_now()
    pause_queue("email")
    time.sleep(2.5)  # observing that nothing starts needs time to pass
    late = [
        row for row in executions("start") if (row["started"] - paused_at).total_seconds() > 1.0
    ]
    assert late == [], "no job started more than 1 s after the pause"
    assert check_queue("email")["available"] > 0
    assert len(check_queue("email")["nodes"]) == 2, "check_queue names the nodes serving it"
    resume_queue("email")
    wait_until(lambda: Job.objects.filter(state="completed").count() == 60, timeout=90)
    assert all(node.process.poll() is None for node in nodes)


@pytest.mark.cluster
def test_four_clusters_on_one_queue_with_a_limit_of_three_never_exceed_it(clusters, executions):
    sync_queues()
    scale_queue("email", 3)
    jobs = insert_all([RecordingWorker.new({"sleep": 0.15}, queue="email") for _ in range(80)])
    for _ in range(4):
        clusters.start(concurrency=3)
    wait_until(lambda: Job.objects.filter(state="completed").count() == len(jobs), timeout=120)
    rows = executions()
    assert max_overlap(rows) <= 3
    assert max_overlap(rows) == 3, "the limit was reached, so it was tested"
    starts = [row["job_id"] for row in rows if row["kind"] == "start"]
    assert len(starts) == len(set(starts)) == len(jobs), "no job ran twice"


@pytest.mark.cluster
def test_scaling_a_queue_down_holds_on_every_node_within_a_second(clusters, executions):
    sync_queues()
    insert_all([RecordingWorker.new({"sleep": 0.2}, queue="email") for _ in range(60)])
    clusters.start(concurrency=3)
    clusters.start(concurrency=3)
    wait_until(lambda: len(executions("done")) >= 6, timeout=60)
    scaled_at = _db_now()
    scale_queue("email", 1)
    wait_until(lambda: Job.objects.filter(state="completed").count() == 60, timeout=120)
    from datetime import timedelta

    assert max_overlap(executions(), after=scaled_at + timedelta(seconds=1)) == 1
