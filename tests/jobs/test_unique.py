"""Unique jobs, enforced by the database (an exclusion constraint), not check-then-insert."""

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tests.support.clusters import PROJECT_ROOT, database_url
from tests.support.polling import wait_until
from tests.support.workers import RecordingWorker
from workflows.jobs import Job, Unique, Worker, insert_all
from workflows.jobs.policy.unique import UniqueOptionError, unique_key
from workflows.jobs.testing import drain_queue


class UniqueByPostWorker(Worker):
    unique = Unique(
        period=300,
        keys=("post_id",),
        states=("scheduled",),
        replace={"scheduled": ["scheduled_at", "args"]},
    )

    def perform(self, job):
        return None


def test_the_key_compares_only_the_chosen_fields_and_keys():
    option = Unique(keys=("post_id",))
    base = {"worker": "w", "queue": "q", "meta": {}}
    assert unique_key(option, args={"post_id": 1, "x": 1}, **base) == unique_key(
        option, args={"post_id": 1, "x": 2}, **base
    )
    assert unique_key(option, args={"post_id": 1}, **base) != unique_key(
        option, args={"post_id": 2}, **base
    )
    assert unique_key(Unique(), args={"a": 1, "b": 2}, **base) == unique_key(
        Unique(), args={"b": 2, "a": 1}, **base
    )


@pytest.mark.parametrize(
    "options",
    [
        {"period": 0},
        {"fields": ("args", "colour")},
        {"states": ("done",)},
        {"keys": ("a",), "fields": ("worker",)},
        {"replace": {"scheduled": ["worker"]}},
    ],
)
def test_bad_unique_options_are_refused(options):
    with pytest.raises(UniqueOptionError):
        Unique(**options)


@pytest.mark.django_db
class TestInsert:
    def test_a_duplicate_inserts_nothing_and_returns_the_existing_job_marked(self):
        first = RecordingWorker.enqueue({"n": 1}, unique=Unique(period=60))
        second = RecordingWorker.enqueue({"n": 1}, unique=Unique(period=60))
        other = RecordingWorker.enqueue({"n": 2}, unique=Unique(period=60))
        assert first.conflict is False and second.conflict is True and second.pk == first.pk
        assert other.conflict is False
        assert Job.objects.count() == 2

    def test_fields_choose_what_makes_a_duplicate(self):
        by_worker = Unique(period=60, fields=("worker",))
        first = RecordingWorker.enqueue({"n": 1}, unique=by_worker)
        same_worker = RecordingWorker.enqueue({"n": 2}, queue="email", unique=by_worker)
        assert same_worker.conflict is True and same_worker.pk == first.pk

        by_meta = Unique(period=60, fields=("worker", "meta"))
        tagged = RecordingWorker.enqueue({"n": 1}, meta={"source": "a"}, unique=by_meta)
        other_args = RecordingWorker.enqueue({"n": 9}, meta={"source": "a"}, unique=by_meta)
        other_meta = RecordingWorker.enqueue({"n": 1}, meta={"source": "b"}, unique=by_meta)
        assert other_args.conflict is True and other_args.pk == tagged.pk
        assert other_meta.conflict is False

        by_args = Unique(period=60, fields=("args", "queue", "worker"))
        RecordingWorker.enqueue({"n": 5}, unique=by_args)
        elsewhere = RecordingWorker.enqueue({"n": 5}, queue="email", unique=by_args)
        assert elsewhere.conflict is False
        assert Job.objects.count() == 5

    def test_a_completed_job_counts_by_default(self):
        RecordingWorker.enqueue({"n": 1}, unique=Unique(period=None))
        drain_queue("default")
        assert RecordingWorker.enqueue({"n": 1}, unique=Unique(period=None)).conflict

    def test_a_job_that_left_its_unique_states_no_longer_counts(self):
        only_waiting = Unique(period=None, states=("available", "scheduled"))
        job = RecordingWorker.enqueue({"n": 1}, unique=only_waiting)
        assert RecordingWorker.enqueue({"n": 1}, unique=only_waiting).conflict
        drain_queue("default")
        fresh = RecordingWorker.enqueue({"n": 1}, unique=only_waiting)
        assert fresh.conflict is False and fresh.pk != job.pk

    def test_a_discarded_job_releases_its_key(self):
        job = RecordingWorker.enqueue({"n": 1}, unique=Unique(period=None))
        connection.cursor().execute(
            "UPDATE jobs_job SET state = 'discarded' WHERE id = %s", [job.pk]
        )
        again = RecordingWorker.enqueue({"n": 1}, unique=Unique(period=None))
        assert again.conflict is False

    def test_the_period_is_a_window_from_the_existing_jobs_insert(self):
        job = RecordingWorker.enqueue({"n": 1}, unique=Unique(period=60))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE jobs_job SET uniq_window = tstzrange(now() - interval '61 s', "
                "now() - interval '1 s') WHERE id = %s",
                [job.pk],
            )
        later = RecordingWorker.enqueue({"n": 1}, unique=Unique(period=60))
        assert later.conflict is False and later.pk != job.pk

    def test_replace_updates_the_existing_scheduled_job(self):
        at = timezone.now() + timedelta(minutes=10)
        first = UniqueByPostWorker.enqueue({"post_id": 7, "v": 1}, scheduled_at=at)
        later = at + timedelta(minutes=5)
        second = UniqueByPostWorker.enqueue({"post_id": 7, "v": 2}, scheduled_at=later)
        assert second.conflict is True and second.pk == first.pk
        assert second.args == {"post_id": 7, "v": 2} and second.scheduled_at == later
        assert Job.objects.count() == 1

    def test_a_job_outside_its_unique_states_checks_but_does_not_hold_the_key(self):
        available = UniqueByPostWorker.enqueue({"post_id": 9})  # available: not in states
        assert available.uniq_key is None
        scheduled = UniqueByPostWorker.enqueue({"post_id": 9}, schedule_in=60)
        assert scheduled.conflict is False
        assert UniqueByPostWorker.enqueue({"post_id": 9}, schedule_in=90).conflict is True

    def test_insert_all_honours_uniqueness_within_the_batch_and_against_existing_jobs(self):
        existing = RecordingWorker.enqueue({"n": 0}, unique=Unique())
        jobs = insert_all(
            [
                RecordingWorker.new({"n": 0}, unique=Unique()),
                RecordingWorker.new({"n": 1}, unique=Unique()),
                RecordingWorker.new({"n": 1}, unique=Unique()),
                RecordingWorker.new({"n": 2}),
                RecordingWorker.new({"n": 2}),
            ]
        )
        assert [job.conflict for job in jobs] == [True, False, True, False, False]
        assert jobs[0].pk == existing.pk and jobs[2].pk == jobs[1].pk
        assert Job.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_insert_does_not_block_a_later_one():
    started, release = threading.Event(), threading.Event()
    outcome = {}

    def first_transaction():
        try:
            with transaction.atomic():
                RecordingWorker.enqueue({"n": 1}, unique=Unique(period=None))
                started.set()
                release.wait(10)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        finally:
            connections.close_all()

    def second_transaction():
        started.wait(10)
        outcome["job"] = RecordingWorker.enqueue({"n": 1}, unique=Unique(period=None))
        connections.close_all()

    threads = [
        threading.Thread(target=first_transaction),
        threading.Thread(target=second_transaction),
    ]
    for thread in threads:
        thread.start()
    started.wait(10)
    # The second insert is blocked on the first's uncommitted row until that one rolls back.
    wait_until(lambda: _waiting_on_locks() >= 1, timeout=10, message="the second insert to block")
    release.set()
    for thread in threads:
        thread.join(10)
    assert outcome["job"].conflict is False
    assert list(Job.objects.values_list("pk", flat=True)) == [outcome["job"].pk]


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_eight_processes_inserting_the_same_unique_job_at_once_leave_one_row():
    barrier = 770_001
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "JOBS_WORKER_MODULES": "tests.support.workers",
    }
    spec = json.dumps({"args": {"post_id": 42, "stage": "s21"}})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [barrier])
    try:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.race_insert", str(barrier), spec],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        wait_until(
            lambda: _waiting_on_locks() == 8, timeout=60, message="8 inserters at the barrier"
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [barrier])
    results = [process.communicate(timeout=60)[0].split() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    ids = {int(job_id) for job_id, _ in results}
    conflicts = sorted(flag for _, flag in results)
    assert len(ids) == 1
    assert conflicts == ["False"] + ["True"] * 7
    assert Job.objects.count() == 1
