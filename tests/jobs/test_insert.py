from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.support.workers import RecordingWorker
from workflows.jobs import Job, JobValidationError, insert, insert_all
from workflows.jobs.testing import assert_enqueued, refute_enqueued

pytestmark = pytest.mark.django_db


def test_new_takes_the_workers_defaults_and_insert_saves_an_available_job():
    job = RecordingWorker.new({"recipient_id": 7})
    assert (
        job.pk is None and job.queue == "default" and job.max_attempts == 20 and job.priority == 0
    )
    saved = insert(job)
    assert (
        saved.pk and saved.state == "available" and saved.attempt == 0 and saved.conflict is False
    )
    assert saved.worker == "tests.support.workers.RecordingWorker"
    assert_enqueued(worker=RecordingWorker, args={"recipient_id": 7})


def test_options_override_the_defaults_and_schedule_in_makes_a_scheduled_job():
    job = RecordingWorker.enqueue(
        {"n": 1},
        priority=3,
        max_attempts=5,
        queue="email",
        schedule_in=60,
        tags=["a"],
        meta={"k": "v"},
    )
    assert (job.priority, job.max_attempts, job.queue, job.state) == (3, 5, "email", "scheduled")
    assert job.tags == ["a"] and job.meta == {"k": "v"}
    assert job.scheduled_at > timezone.now() + timedelta(seconds=55)


def test_insert_all_inserts_ten_thousand_jobs_in_order():
    jobs = insert_all([RecordingWorker.new({"n": i}) for i in range(10_000)])
    assert len(jobs) == 10_000
    assert [job.args["n"] for job in jobs] == list(range(10_000))
    assert Job.objects.count() == 10_000


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: RecordingWorker.new([1, 2]), "args must be a JSON object"),
        (
            lambda: RecordingWorker.new({"when": datetime.now(UTC)}),
            "does not survive a JSON round trip",
        ),
        (lambda: RecordingWorker.new({"t": (1, 2)}), "does not survive a JSON round trip"),
        (lambda: RecordingWorker.new({1: "x"}), "keys must be strings"),
        (lambda: RecordingWorker.new({"x": float("nan")}), "JSON cannot hold"),
        (lambda: RecordingWorker.new({"x": "a\x00b"}), "NUL"),
        (lambda: RecordingWorker.new({"x": 3.755848848566637e16}), "gives back as an integer"),
        (lambda: RecordingWorker.new({}, meta={"x": [-1e300]}), "gives back as an integer"),
        (lambda: RecordingWorker.new({}, priority=10), "priority must be"),
        (lambda: RecordingWorker.new({}, priority=-1), "priority must be"),
        (lambda: RecordingWorker.new({}, max_attempts=0), "max_attempts must be"),
        (lambda: RecordingWorker.new({}, queue="emial"), "unknown queue 'emial'"),
        (lambda: RecordingWorker.new({}, scheduled_at=datetime(2030, 1, 1)), "no time zone"),
        (lambda: RecordingWorker.new({}, scheduled_at=timezone.now(), schedule_in=5), "not both"),
        (lambda: RecordingWorker.new({"blob": "x" * 70_000}), "bytes of JSON"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(call, message):
    with pytest.raises(JobValidationError, match=message):
        call()


def test_a_refused_insert_loses_nothing_else_in_the_callers_transaction():
    with transaction.atomic():
        kept = RecordingWorker.enqueue({"kept": True})
        with pytest.raises(JobValidationError):
            insert(RecordingWorker.new({"x": 1}, priority=99))
        bad = RecordingWorker.new({"x": 1})
        bad.args = {"x": {1, 2}}
        with pytest.raises(JobValidationError):
            insert(bad)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # the transaction is still usable
    assert Job.objects.filter(pk=kept.pk).exists()
    assert Job.objects.count() == 1


def test_a_job_inserted_in_a_rolled_back_transaction_does_not_exist():
    with pytest.raises(RuntimeError), transaction.atomic():
        RecordingWorker.enqueue({"doomed": True})
        raise RuntimeError("roll back")
    refute_enqueued(worker=RecordingWorker, args={"doomed": True})
