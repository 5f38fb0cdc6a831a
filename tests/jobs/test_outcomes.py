"""What perform returns decides the outcome (run in-process through the real execution path)."""

import sys

import pytest
from django.db import connection

from tests.support.workers import (
    DiscardingWorker,
    ErrorReturningWorker,
    FailingWorker,
    RecordingWorker,
    SnoozeTwiceWorker,
)
from workflows.jobs import Cancel, Job, Worker, cancel_job, insert, retry_job
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db


class CancellingWorker(Worker):
    def perform(self, job):
        return Cancel("no longer wanted")


class ValueReturningWorker(Worker):
    def perform(self, job):
        return {"anything": "counts as success"}


class CustomBackoffWorker(Worker):
    max_attempts = 4

    def perform(self, job):
        raise ValueError("try later")

    def backoff(self, job):
        return 1000 * job.attempt


@pytest.fixture(autouse=True)
def _executions_table(executions):
    return executions


def test_none_or_any_value_completes_the_job():
    first = RecordingWorker.enqueue({})
    second = ValueReturningWorker.enqueue({})
    assert drain_queue("default")["success"] == 2
    for job in (first, second):
        job.refresh_from_db()
        assert job.state == "completed" and job.completed_at and job.errors == []


def test_an_exception_makes_the_job_retryable_after_backoff_with_an_error_entry():
    job = CustomBackoffWorker.enqueue({})
    assert drain_queue("default") == {
        "success": 0,
        "failure": 1,
        "discard": 0,
        "cancelled": 0,
        "snoozed": 0,
    }
    job.refresh_from_db()
    assert job.state == "retryable" and job.attempt == 1
    delay = (job.scheduled_at - job.attempted_at).total_seconds()
    assert 999 <= delay <= 1001, "the worker's own backoff was used"
    (entry,) = job.errors
    assert entry["attempt"] == 1 and "ValueError: try later" in entry["error"]
    assert "Traceback" in entry["error"]


def test_a_job_that_always_raises_is_discarded_after_max_attempts_with_each_error():
    job = FailingWorker.enqueue({})
    counts = drain_queue("default", with_scheduled=True)
    assert counts["failure"] == 2 and counts["discard"] == 1
    job.refresh_from_db()
    assert job.state == "discarded" and job.attempt == 3
    assert [entry["attempt"] for entry in job.errors] == [1, 2, 3]
    assert all("[CPF]" in e["error"] and "529.982.247-25" not in e["error"] for e in job.errors)


def test_returning_error_retries_like_an_exception():
    job = ErrorReturningWorker.enqueue({})
    drain_queue("default", with_scheduled=True)
    job.refresh_from_db()
    assert job.state == "discarded"
    assert [e["error"] for e in job.errors] == ["Error: upstream said no"] * 2


def test_discard_is_immediate_whatever_attempts_remain():
    job = DiscardingWorker.enqueue({})
    assert drain_queue("default")["discard"] == 1
    job.refresh_from_db()
    assert job.state == "discarded" and job.attempt == 1 and job.max_attempts == 20
    assert job.errors[0]["error"] == "Discarded: invalid content"


def test_cancel_cancels():
    job = CancellingWorker.enqueue({})
    assert drain_queue("default")["cancelled"] == 1
    job.refresh_from_db()
    assert job.state == "cancelled" and job.cancelled_at is not None


def test_a_job_snoozed_twice_still_has_all_its_attempts():
    job = SnoozeTwiceWorker.enqueue({})
    counts = drain_queue("default", with_scheduled=True)
    assert counts == {"success": 1, "failure": 0, "discard": 0, "cancelled": 0, "snoozed": 2}
    job.refresh_from_db()
    assert job.state == "completed" and job.max_attempts == 1 and job.attempt == 1
    assert job.meta["snoozed"] == 2


def _row_naming(worker_path: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, "
            "max_attempts, priority, scheduled_at, inserted_at, uniq_states) VALUES "
            "('available', 'default', %s, %s, '{}', '{}', '[]', 0, 5, 0, "
            "now(), now(), 0) RETURNING id",
            [worker_path, '{"cmd": "true"}'],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "worker_path",
    [
        "os.system",  # exists, not a Worker
        "no_such_package.workers.GhostWorker",  # does not exist
        "tests.support.tripwire.Tripwire",  # a Worker subclass in a module nobody loaded
    ],
)
def test_a_row_naming_an_unknown_worker_is_discarded_without_importing_it(worker_path):
    assert "tests.support.tripwire" not in sys.modules
    job_id = _row_naming(worker_path)
    assert drain_queue("default")["discard"] == 1
    job = Job.objects.get(pk=job_id)
    assert job.state == "discarded"
    assert f"Unknown worker {worker_path!r}" in job.errors[0]["error"]
    assert "no Worker subclass is registered under that name" in job.errors[0]["error"]
    assert "tests.support.tripwire" not in sys.modules


def test_retry_job_puts_a_dead_letter_back_with_another_attempt():
    job = FailingWorker.enqueue({})
    drain_queue("default", with_scheduled=True)
    assert retry_job(job.pk) is True
    job.refresh_from_db()
    assert job.state == "available" and job.max_attempts == 4 and job.discarded_at is None
    assert len(job.errors) == 3, "the error history is kept"
    assert retry_job(job.pk) is False, "an available job is left alone"


def test_cancel_job_cancels_unfinished_jobs_only():
    waiting = RecordingWorker.enqueue({}, schedule_in=600)
    assert cancel_job(waiting.pk) is True
    waiting.refresh_from_db()
    assert waiting.state == "cancelled"
    done = RecordingWorker.enqueue({})
    drain_queue("default")
    assert cancel_job(done.pk) is False
    done.refresh_from_db()
    assert done.state == "completed"


def test_retry_job_brings_back_completed_and_cancelled_jobs():
    done = insert(RecordingWorker.new({}))
    drain_queue("default")
    assert retry_job(done.pk)
    assert Job.objects.get(pk=done.pk).state == "available"
