"""Rate limits and partitioned limits, claimed with the real jobs_claim() on PostgreSQL:
the sliding window's bound, partition limits, fairness between partitions, runtime changes,
and the adversarial cases (clock steps, a node gone mid-window, pause, cancel, stale keys)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from tests.support.workers import RecordingWorker
from workflows.jobs import (
    Job,
    JobValidationError,
    Partition,
    RateLimit,
    cancel_job,
    check_queue,
    insert_all,
    pause_queue,
    resume_queue,
    scale_queue,
)
from workflows.jobs.api.queues import sync_queues
from workflows.jobs.models import Queue
from workflows.jobs.policy.limits import parse_partition, parse_rate_limit
from workflows.jobs.store import database

QUEUE = "email"


def _claim(conn, node: str, capacity: int = 10, queues=(QUEUE,)) -> dict:
    (result,) = conn.execute(
        "SELECT jobs_claim(%s, %s, %s::text[], 0)", [node, capacity, list(queues)]
    ).fetchone()
    return result


def _complete(conn, ids: list[int]) -> None:
    conn.execute(
        "UPDATE jobs_job SET state = 'completed', completed_at = now() WHERE id = ANY(%s)", [ids]
    )


def _jobs(n: int, **args) -> list:
    return insert_all([RecordingWorker.new({"n": i, **args}, queue=QUEUE) for i in range(n)])


def _max_in_window(times: list, seconds: float) -> int:
    """The most of these instants inside any window of `seconds` (sliding, half-open)."""
    times = sorted(times)
    best = start = 0
    for end, at in enumerate(times):
        while (at - times[start]).total_seconds() >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def _claim_times(queue: str = QUEUE) -> list:
    return list(
        Job.objects.filter(queue=queue, attempted_at__isnull=False).values_list(
            "attempted_at", flat=True
        )
    )


# --- The values ----------------------------------------------------------------------------------
class TestValues:
    def test_rate_limits_and_partitions_are_validated_with_clear_errors(self):
        assert RateLimit(allowed=10, period_seconds=1).as_json() == {
            "allowed": 10,
            "period_seconds": 1,
        }
        for bad in ({"allowed": 0, "period_seconds": 1}, {"allowed": 1.5, "period_seconds": 1}):
            with pytest.raises(JobValidationError, match="allowed must be a whole number"):
                RateLimit(**bad)
        with pytest.raises(JobValidationError, match="period_seconds must be a whole number"):
            RateLimit(allowed=1, period_seconds=True)
        assert Partition(keys=["author_id"], limit=2).as_json() == {
            "keys": ["author_id"],
            "by_worker": False,
            "limit": 2,
        }
        assert Partition(by_worker=True, limit=1).keys is None
        with pytest.raises(JobValidationError, match="needs args keys"):
            Partition(limit=1)
        with pytest.raises(JobValidationError, match="must be a list of args keys"):
            Partition(keys="author_id", limit=1)
        with pytest.raises(JobValidationError, match="distinct args keys"):
            Partition(keys=["author id"], limit=1)
        with pytest.raises(JobValidationError, match="Partition limit must be a whole number"):
            Partition(keys=["author_id"], limit=0)

    def test_the_command_line_forms_parse_or_say_the_form(self):
        assert parse_rate_limit("10/1") == RateLimit(allowed=10, period_seconds=1)
        assert parse_rate_limit("none") is None
        assert parse_partition("clinic_id+worker:3") == Partition(
            keys=["clinic_id"], by_worker=True, limit=3
        )
        assert parse_partition("off") is None
        with pytest.raises(JobValidationError, match="ALLOWED/PERIOD_SECONDS"):
            parse_rate_limit("10 per second")
        with pytest.raises(JobValidationError, match=r"KEY\[\+KEY...\]:LIMIT"):
            parse_partition("author_id")


# --- Runtime control -----------------------------------------------------------------------------
@pytest.mark.django_db
class TestRuntimeControl:
    def test_scale_queue_sets_and_clears_each_and_keeps_what_is_not_given(self):
        sync_queues()
        scale_queue(QUEUE, rate_limit=RateLimit(allowed=10, period_seconds=1))
        scale_queue(QUEUE, partition=Partition(keys=["author_id"], limit=2))
        scale_queue(QUEUE, 7)
        queue = Queue.objects.get(name=QUEUE)
        assert queue.limit == 7
        assert queue.rate_limit == {"allowed": 10, "period_seconds": 1}
        assert queue.partition == {"keys": ["author_id"], "by_worker": False, "limit": 2}
        report = check_queue(QUEUE)
        assert report["rate_limit"] == RateLimit(allowed=10, period_seconds=1)
        assert report["rate_used"] == 0
        assert report["partition"] == Partition(keys=["author_id"], limit=2)
        assert (report["partitions_running"], report["busiest"]) == (0, 0)
        scale_queue(QUEUE, rate_limit=None)
        assert Queue.objects.get(name=QUEUE).partition is not None, "partition kept"
        scale_queue(QUEUE, partition=None)
        queue = Queue.objects.get(name=QUEUE)
        assert (queue.limit, queue.rate_limit, queue.partition) == (7, None, None)
        sync_queues()
        assert Queue.objects.get(name=QUEUE).limit == 7, "a restart keeps runtime changes"

    def test_bad_input_is_refused_before_anything_changes(self):
        sync_queues()
        with pytest.raises(JobValidationError, match="rate_limit must be a RateLimit"):
            scale_queue(QUEUE, 3, rate_limit={"allowed": 1, "period_seconds": 1})
        with pytest.raises(JobValidationError, match="partition must be a Partition"):
            scale_queue(QUEUE, 3, partition="author_id:1")
        with pytest.raises(JobValidationError, match="needs a limit, a rate_limit or a partition"):
            scale_queue(QUEUE)
        assert Queue.objects.get(name=QUEUE).limit != 3, "nothing changed"

    def test_a_setting_changed_in_settings_replaces_the_runtime_value(self, settings):
        sync_queues()
        scale_queue(QUEUE, rate_limit=RateLimit(allowed=3, period_seconds=1))
        sync_queues()
        assert Queue.objects.get(name=QUEUE).rate_limit == {"allowed": 3, "period_seconds": 1}
        queues = {**settings.JOBS["queues"]}
        queues[QUEUE] = {**queues[QUEUE], "rate_limit": {"allowed": 50, "period_seconds": 10}}
        settings.JOBS = {**settings.JOBS, "queues": queues}
        sync_queues()
        assert Queue.objects.get(name=QUEUE).rate_limit == {"allowed": 50, "period_seconds": 10}

    def test_the_medical_queue_is_partitioned_by_author_by_default(self):
        sync_queues()
        report = check_queue("medical_workflow")
        assert report["partition"] == Partition(keys=["author_id"], limit=2)
        assert report["rate_limit"] is None

    def test_the_queues_page_shows_both_and_their_use(self):
        from django.contrib.admin.sites import site

        from workflows.jobs.admin import QueueAdmin

        sync_queues()
        scale_queue(QUEUE, rate_limit=RateLimit(allowed=10, period_seconds=1))
        page = QueueAdmin(Queue, site)
        email, medical = Queue.objects.get(name=QUEUE), Queue.objects.get(name="medical_workflow")
        assert page.rate_limit_use(email) == "0 of 10 per 1 s"
        assert page.partition_use(email) == "-"
        assert page.partition_use(medical) == "author_id:2: 0 / 2; 0 running, 0 waiting"
        assert "rate_limit_use" in page.list_display and "partition_use" in page.list_display

    def test_jobs_scale_and_status_commands(self, capsys):
        sync_queues()
        call_command("jobs", "scale", QUEUE, "--rate", "5/1", "--partition", "author_id:1")
        assert "rate limit 5/1s, partition author_id:1" in capsys.readouterr().out
        call_command("jobs", "status")
        out = capsys.readouterr().out
        assert "0/5 per 1s" in out and "author_id:1: 0/1, 0 running, 0 waiting" in out
        call_command("jobs", "scale", QUEUE, "--rate", "none")
        assert Queue.objects.get(name=QUEUE).rate_limit is None
        assert Queue.objects.get(name=QUEUE).partition is not None
        with pytest.raises(CommandError, match="ALLOWED/PERIOD_SECONDS"):
            call_command("jobs", "scale", QUEUE, "--rate", "fast")
        with pytest.raises(CommandError, match="give a LIMIT, --rate or --partition"):
            call_command("jobs", "scale", QUEUE)


# --- The claim ------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
class TestRateLimitClaims:
    def test_no_window_of_the_period_holds_more_than_allowed_starts(self):
        """Three claimers, jobs finishing at once: the window, not free slots, paces them."""
        sync_queues()
        scale_queue(QUEUE, 50, rate_limit=RateLimit(allowed=5, period_seconds=1))
        _jobs(40)
        deadline = time.monotonic() + 30
        conns = [database.connect() for _ in range(3)]
        try:
            while (
                time.monotonic() < deadline
                and Job.objects.filter(queue=QUEUE, state="available").exists()
            ):
                for i, conn in enumerate(conns):
                    result = _claim(conn, f"rate-{i}")
                    _complete(conn, [job["id"] for job in result["jobs"]])
                    if not result["jobs"] and result["wait"] is not None:
                        assert 0 < result["wait"] <= 1.0, "the claim says when to come back"
                time.sleep(0.02)
        finally:
            for conn in conns:
                conn.close()
        times = _claim_times()
        assert len(times) == 40
        assert _max_in_window(times, 1.0) == 5
        span = (max(times) - min(times)).total_seconds()
        assert span >= 7.0, f"40 starts at 5 per second take at least 7 s; took {span:.1f}"

    def test_a_node_gone_mid_window_still_counts_and_rescued_jobs_count_again(self):
        sync_queues()
        scale_queue(QUEUE, 50, rate_limit=RateLimit(allowed=4, period_seconds=30))
        _jobs(10)
        with database.connect() as conn:
            first = _claim(conn, "doomed-node")
            assert len(first["jobs"]) == 4
            # The node dies; its jobs are rescued to available (as the lifeline does).
            conn.execute(
                "UPDATE jobs_job SET state = 'available' WHERE attempted_by[1] = 'doomed-node'"
            )
            second = _claim(conn, "survivor")
            assert second["jobs"] == [], "the dead node's starts still fill the window"
            assert 0 < second["wait"] <= 30
            conn.execute(
                "UPDATE jobs_queue_start SET started_at = started_at - interval '31 seconds'"
            )
            third = _claim(conn, "survivor")
        assert len(third["jobs"]) == 4, "a new window"
        assert {job["id"] for job in first["jobs"]} & {job["id"] for job in third["jobs"]}, (
            "rescued jobs started again, and counted again"
        )
        assert check_queue(QUEUE)["rate_used"] == 4

    def test_a_backward_clock_step_stalls_a_queue_one_period_not_the_step(self):
        sync_queues()
        scale_queue(QUEUE, 50, rate_limit=RateLimit(allowed=3, period_seconds=1))
        _jobs(6)
        with database.connect() as conn:
            # Starts stamped an hour ahead: what a clock stepped back an hour leaves behind.
            conn.execute(
                "INSERT INTO jobs_queue_start (queue, started_at, count) "
                "VALUES (%s, now() + interval '1 hour', 3)",
                [QUEUE],
            )
            assert _claim(conn, "n")["jobs"] == [], "those starts count (as made now)"
            deadline = time.monotonic() + 10
            claimed = []
            while not claimed and time.monotonic() < deadline:
                time.sleep(0.1)
                claimed = _claim(conn, "n")["jobs"]
        assert len(claimed) == 3, "within a period the window has room again"

    def test_a_paused_rate_limited_queue_spends_nothing_and_cancel_while_limited(self):
        sync_queues()
        scale_queue(QUEUE, 50, rate_limit=RateLimit(allowed=2, period_seconds=60))
        jobs = _jobs(5)
        pause_queue(QUEUE)
        with database.connect() as conn:
            assert _claim(conn, "n")["jobs"] == []
            assert check_queue(QUEUE)["rate_used"] == 0, "a paused queue starts nothing"
            resume_queue(QUEUE)
            cancel_job(jobs[0].pk)
            claimed = [job["id"] for job in _claim(conn, "n")["jobs"]]
            assert len(claimed) == 2 and jobs[0].pk not in claimed
            assert _claim(conn, "n")["jobs"] == [], "held back by the window"
            for job in jobs[1:]:
                if job.pk not in claimed:
                    cancel_job(job.pk)
            assert _claim(conn, "n")["jobs"] == []
        assert Job.objects.filter(state="cancelled").count() == 3
        assert Job.objects.filter(state="executing").count() == 2
        assert check_queue(QUEUE)["rate_used"] == 2

    def test_removing_the_rate_limit_takes_effect_at_the_next_claim(self):
        sync_queues()
        scale_queue(QUEUE, 50, rate_limit=RateLimit(allowed=1, period_seconds=3600))
        _jobs(10)
        with database.connect() as conn:
            assert len(_claim(conn, "n")["jobs"]) == 1
            assert _claim(conn, "n")["jobs"] == []
            scale_queue(QUEUE, rate_limit=None)
            assert len(_claim(conn, "n")["jobs"]) == 9
            (left,) = conn.execute("SELECT count(*) FROM jobs_queue_start").fetchone()
        assert left == 0, "no window is kept for a queue without a rate limit"


@pytest.mark.django_db(transaction=True)
class TestPartitionClaims:
    def test_at_most_limit_run_per_partition_and_jobs_without_the_key_share_one(self):
        sync_queues()
        scale_queue(QUEUE, 50, partition=Partition(keys=["author_id"], limit=2))
        insert_all(
            [
                RecordingWorker.new({"author_id": author, "n": i}, queue=QUEUE)
                for author in (1, 2, "x")
                for i in range(5)
            ]
            + [RecordingWorker.new({"n": i}, queue=QUEUE) for i in range(5)]
        )
        with database.connect() as conn:
            claimed = _claim(conn, "n", capacity=50)["jobs"]
            assert _claim(conn, "n", capacity=50)["jobs"] == []
        by_author = Counter(job["args"].get("author_id", "none") for job in claimed)
        assert by_author == {1: 2, 2: 2, "x": 2, "none": 2}
        report = check_queue(QUEUE)
        assert (report["partitions_running"], report["busiest"]) == (4, 2)
        assert report["partitions_waiting"] == 4

    def test_cancelling_a_running_job_frees_its_partition(self):
        sync_queues()
        scale_queue(QUEUE, 50, partition=Partition(keys=["author_id"], limit=1))
        first, second = _jobs(2, author_id=3)
        with database.connect() as conn:
            (running,) = _claim(conn, "n")["jobs"]
            assert _claim(conn, "n")["jobs"] == [], "the author's partition is full"
            cancel_job(running["id"])
            (after,) = _claim(conn, "n")["jobs"]
        assert after["id"] == ({first.pk, second.pk} - {running["id"]}).pop()

    def test_by_worker_partitions_by_the_worker(self):
        from tests.support.workers import FailingWorker

        sync_queues()
        scale_queue(QUEUE, 50, partition=Partition(by_worker=True, limit=1))
        insert_all(
            [RecordingWorker.new({"n": i}, queue=QUEUE) for i in range(3)]
            + [FailingWorker.new({"n": i}, queue=QUEUE) for i in range(3)]
        )
        with database.connect() as conn:
            claimed = _claim(conn, "n", capacity=50)["jobs"]
        assert sorted(job["worker"].rsplit(".", 1)[-1] for job in claimed) == [
            "FailingWorker",
            "RecordingWorker",
        ]

    def test_a_noisy_partition_cannot_starve_a_small_one(self):
        """10,000 jobs of one author, then 10 of another, the queue running one at a time:
        the 10 are done by the time about 20 of the big one's are."""
        sync_queues()
        scale_queue(QUEUE, 1, partition=Partition(keys=["author_id"], limit=1))
        insert_all(
            [RecordingWorker.new({"author_id": 1, "n": i}, queue=QUEUE) for i in range(10_000)]
        )
        _jobs(10, author_id=2)
        order = []
        with database.connect() as conn:
            while sum(1 for author in order if author == 2) < 10:
                jobs = _claim(conn, "n")["jobs"]
                assert len(jobs) == 1
                order.append(jobs[0]["args"]["author_id"])
                _complete(conn, [jobs[0]["id"]])
        assert order.count(1) <= 11, order

    def test_a_thousand_partitions_take_turns(self):
        """One author with 2,000 jobs among 999 authors with one each, queue limit 4: a full
        turn serves every author once, so the loud one gets about one job in a thousand."""
        sync_queues()
        scale_queue(QUEUE, 4, partition=Partition(keys=["author_id"], limit=1))
        insert_all(
            [RecordingWorker.new({"author_id": 0, "n": i}, queue=QUEUE) for i in range(2000)]
        )
        insert_all([RecordingWorker.new({"author_id": a}, queue=QUEUE) for a in range(1, 1000)])
        served = []
        with database.connect() as conn:
            while len(served) < 999:
                jobs = _claim(conn, "n")["jobs"]
                assert jobs
                served += [job["args"]["author_id"] for job in jobs]
                _complete(conn, [job["id"] for job in jobs])
        assert served.count(0) <= 2, "the loud author had a turn, not the queue"
        assert len(set(served)) >= 998

    def test_a_partition_set_at_runtime_rekeys_waiting_jobs_and_a_stale_key_is_refiled(self):
        sync_queues()
        _jobs(3, author_id=7)
        _jobs(3, author_id=8)
        assert not Job.objects.exclude(partition_key=None).exists(), "unpartitioned: no keys"
        scale_queue(QUEUE, 50, partition=Partition(keys=["author_id"], limit=1))
        assert not Job.objects.filter(partition_key=None).exists(), "re-keyed"
        # A key computed under some older setting: the claim files the job where it belongs.
        stale = Job.objects.filter(args__author_id=8).first()
        Job.objects.filter(pk=stale.pk).update(
            partition_key=Job.objects.filter(args__author_id=7).first().partition_key
        )
        with database.connect() as conn:
            first = _claim(conn, "n", capacity=50)["jobs"]
            second = _claim(conn, "n", capacity=50)["jobs"]
        running = Counter(
            Job.objects.filter(state="executing").values_list("args__author_id", flat=True)
        )
        assert running == {7: 1, 8: 1}, (first, second)
        scale_queue(QUEUE, partition=None)
        assert not Job.objects.exclude(partition_key=None).exists(), "keys dropped with it"

    def test_jobs_inserted_by_any_statement_get_their_key(self):
        sync_queues()
        scale_queue(QUEUE, partition=Partition(keys=["author_id"], limit=1))
        job = RecordingWorker.enqueue({"author_id": 5}, queue=QUEUE)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, "
                "attempt, max_attempts, priority, uniq_states) "
                "VALUES ('available', %s, 'w', '{\"author_id\": 5}', "
                "'{}', '{}', '[]', 0, 20, 0, 0) RETURNING id",
                [QUEUE],
            )
            (raw_id,) = cursor.fetchone()
        key = Job.objects.get(pk=job.pk).partition_key
        assert key is not None and Job.objects.get(pk=raw_id).partition_key == key
        other = RecordingWorker.enqueue({"author_id": 6}, queue=QUEUE)
        assert Job.objects.get(pk=other.pk).partition_key not in (None, key)


@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_claimers_never_exceed_rate_partition_or_queue_limit():
    """16 claimers (distinct nodes) on one queue with a limit of 6, 8 authors limited to 1
    each and a rate of 20 per second; a sampler watches the running counts."""
    sync_queues()
    scale_queue(
        QUEUE,
        6,
        rate_limit=RateLimit(allowed=20, period_seconds=1),
        partition=Partition(keys=["author_id"], limit=1),
    )
    insert_all([RecordingWorker.new({"author_id": i % 8, "n": i}, queue=QUEUE) for i in range(120)])
    stop = threading.Event()
    peaks = {"queue": 0, "partition": 0}
    errors = []

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

    def claimer(index: int):
        rng = random.Random(index)
        try:
            deadline = time.monotonic() + 60
            with database.connect() as conn:
                while time.monotonic() < deadline:
                    result = _claim(conn, f"stress-{index}", capacity=3)
                    ids = [job["id"] for job in result["jobs"]]
                    if ids:
                        time.sleep(rng.random() * 0.02)
                        _complete(conn, ids)
                        continue
                    (left,) = conn.execute(
                        "SELECT count(*) FROM jobs_job WHERE state IN ('available', 'executing')"
                    ).fetchone()
                    if not left:
                        return
                    time.sleep(0.005)
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
    assert Job.objects.filter(state="completed").count() == 120
    assert 1 <= peaks["partition"] <= 1 and 2 <= peaks["queue"] <= 6, peaks
    times = _claim_times()
    assert _max_in_window(times, 1.0) <= 20
    assert (max(times) - min(times)) >= timedelta(seconds=5), "the rate held them back"
