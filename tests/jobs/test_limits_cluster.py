"""Rate limits and partitioned limits across real qcluster nodes: the bounds hold cluster-wide,
partitions take turns, and runtime changes reach every node within a second."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.db import connection

from tests.support.overlap import max_overlap
from tests.support.polling import wait_until
from tests.support.workers import RecordingWorker
from workflows.jobs import Job, Partition, RateLimit, insert_all, scale_queue
from workflows.jobs.api.queues import sync_queues
from workflows.jobs.store import database

pytestmark = pytest.mark.cluster
QUEUE = "email"


def _db_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _max_in_window(times: list, seconds: float = 1.0) -> int:
    times = sorted(times)
    best = start = 0
    for end, at in enumerate(times):
        while (at - times[start]).total_seconds() >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def _start_times(after=None) -> list:
    """When each job started: its claim time (attempted_at, the database clock), which is
    what the rate limit bounds."""
    jobs = Job.objects.filter(queue=QUEUE, attempted_at__isnull=False)
    if after is not None:
        jobs = jobs.filter(attempted_at__gte=after)
    return list(jobs.values_list("attempted_at", flat=True))


def _overlap_per_author(rows: list[dict], after=None) -> dict:
    author = dict(Job.objects.values_list("pk", "args__author_id"))
    grouped = defaultdict(list)
    for row in rows:
        grouped[author.get(row["job_id"])].append(row)
    return {key: max_overlap(group, after=after) for key, group in grouped.items()}


def test_rate_five_per_second_over_two_nodes(clusters, executions):
    sync_queues()
    scale_queue(QUEUE, 10, rate_limit=RateLimit(allowed=5, period_seconds=1))
    insert_all([RecordingWorker.new({"n": i}, queue=QUEUE) for i in range(40)])
    clusters.start(concurrency=4)
    clusters.start(concurrency=4)
    wait_until(lambda: Job.objects.filter(state="completed").count() == 40, timeout=120)
    times = _start_times()
    assert len(times) == 40
    assert _max_in_window(times) == 5, "no one-second window holds more than 5 starts"
    assert len({row["pid"] for row in executions("start")}) >= 2
    assert (max(times) - min(times)).total_seconds() >= 7.0


def test_four_clusters_never_exceed_rate_partition_or_queue_limit(clusters, executions):
    """A sampler watches the running counts while four nodes drain 5 authors' jobs."""
    sync_queues()
    scale_queue(
        QUEUE,
        3,
        rate_limit=RateLimit(allowed=10, period_seconds=1),
        partition=Partition(keys=["author_id"], limit=1),
    )
    insert_all(
        [RecordingWorker.new({"author_id": i % 5, "sleep": 0.1}, queue=QUEUE) for i in range(60)]
    )
    stop = threading.Event()
    peaks = {"queue": 0, "partition": 0}

    def sampler():
        with database.connect() as conn:
            while not stop.is_set():
                rows = conn.execute(
                    "SELECT args->>'author_id', count(*) FROM jobs_job "
                    "WHERE queue = %s AND state = 'executing' GROUP BY 1",
                    [QUEUE],
                ).fetchall()
                peaks["queue"] = max(peaks["queue"], sum(n for _, n in rows))
                peaks["partition"] = max([peaks["partition"], *(n for _, n in rows)])
                time.sleep(0.005)

    watcher = threading.Thread(target=sampler)
    watcher.start()
    try:
        for _ in range(4):
            clusters.start(concurrency=2)
        wait_until(lambda: Job.objects.filter(state="completed").count() == 60, timeout=180)
    finally:
        stop.set()
        watcher.join(10)
    assert peaks["partition"] == 1 and 1 <= peaks["queue"] <= 3, peaks
    rows = executions()
    assert max(_overlap_per_author(rows).values()) == 1, "partition limit 1 by key held"
    assert max_overlap(rows) <= 3
    assert _max_in_window(_start_times()) <= 10


def test_a_small_partition_is_not_starved_by_a_big_one_across_two_nodes(clusters, executions):
    """10,000 jobs of one author, 10 of another, the queue running one at a time."""
    sync_queues()
    scale_queue(QUEUE, 1, partition=Partition(keys=["author_id"], limit=1))
    insert_all([RecordingWorker.new({"author_id": 1}, queue=QUEUE) for _ in range(10_000)])
    insert_all([RecordingWorker.new({"author_id": 2}, queue=QUEUE) for _ in range(10)])
    clusters.start(concurrency=2)
    clusters.start(concurrency=2)
    wait_until(
        lambda: Job.objects.filter(state="completed", args__author_id=2).count() == 10,
        timeout=120,
    )
    last_small = Job.objects.filter(args__author_id=2).order_by("-completed_at")[0].completed_at
    big_done = Job.objects.filter(
        state="completed", args__author_id=1, completed_at__lte=last_small
    ).count()
    assert big_done <= 20, f"the 10 finished within the time of {big_done} of the big one's"


def test_runtime_changes_reach_every_node_within_a_second(clusters, executions):
    sync_queues()
    scale_queue(QUEUE, 4)
    insert_all(
        [RecordingWorker.new({"author_id": i % 2, "sleep": 0.2}, queue=QUEUE) for i in range(400)]
    )
    clusters.start(concurrency=3)
    clusters.start(concurrency=3)
    wait_until(lambda: len(executions("done")) >= 8, timeout=60, message="jobs to flow")
    # A rate limit set at runtime: from a second later no window holds more than allowed.
    limited_at = _db_now()
    scale_queue(QUEUE, rate_limit=RateLimit(allowed=2, period_seconds=1))
    time.sleep(3.5)  # observing a rate needs time to pass
    assert _max_in_window(_start_times(after=limited_at + timedelta(seconds=1))) <= 2
    # Removed: the queue runs at its limit again.
    freed_at = _db_now()
    scale_queue(QUEUE, rate_limit=None)
    wait_until(
        lambda: len(_start_times(after=freed_at + timedelta(seconds=1))) >= 8,
        timeout=30,
        message="the queue to run freely again",
    )
    # A partition set at runtime: one job per author from a second later.
    partitioned_at = _db_now()
    scale_queue(QUEUE, partition=Partition(keys=["author_id"], limit=1))
    time.sleep(3.0)
    after = partitioned_at + timedelta(seconds=1)
    assert max(_overlap_per_author(executions(), after=after).values()) == 1
    scale_queue(QUEUE, partition=None)
    repartitioned = _db_now() + timedelta(seconds=1)
    wait_until(
        lambda: max(_overlap_per_author(executions(), after=repartitioned).values()) >= 2,
        timeout=30,
        message="both nodes to run an author's jobs side by side again",
    )
    assert Counter(Job.objects.values_list("state", flat=True))["executing"] <= 4
