import pytest

from tests.support.workers import RecordingWorker, SleepyWorker
from workflows.jobs import Job, JobTimeout, JobValidationError, Snooze, Worker
from workflows.jobs.testing import (
    all_enqueued,
    assert_enqueued,
    drain_queue,
    perform_job,
    refute_enqueued,
    testing_mode,
)

pytestmark = pytest.mark.django_db


class EchoWorker(Worker):
    def perform(self, job):
        if job.args.get("snooze"):
            return Snooze(5)
        if job.args.get("fail"):
            raise RuntimeError("failed on purpose")
        return {"attempt": job.attempt, "args": job.args}


def test_perform_job_runs_perform_and_returns_its_result():
    assert perform_job(EchoWorker, {"a": 1}) == {"attempt": 1, "args": {"a": 1}}
    assert perform_job(EchoWorker, {"a": 1}, attempt=3)["attempt"] == 3
    assert perform_job(EchoWorker, {"snooze": True}) == Snooze(5)
    with pytest.raises(RuntimeError, match="failed on purpose"):
        perform_job(EchoWorker, {"fail": True})


def test_perform_job_refuses_args_that_do_not_survive_json():
    with pytest.raises(JobValidationError):
        perform_job(EchoWorker, {"s": {1, 2}})


def test_perform_job_applies_the_workers_timeout():
    with pytest.raises(JobTimeout, match="exceeded its timeout of 2 s"):
        perform_job(SleepyWorker, {"sleep": 5})


def test_perform_job_inserts_nothing():
    perform_job(EchoWorker, {})
    assert not Job.objects.exists()


def test_assert_and_refute_enqueued_filter_by_worker_queue_priority_state_and_args():
    RecordingWorker.enqueue({"post_id": 1, "stage": "x"}, priority=2, queue="email")
    assert_enqueued(worker=RecordingWorker, args={"post_id": 1})
    assert_enqueued(queue="email", priority=2, state="available")
    refute_enqueued(worker=RecordingWorker, args={"post_id": 2})
    refute_enqueued(worker=EchoWorker)
    with pytest.raises(AssertionError, match="expected a job matching"):
        assert_enqueued(worker=RecordingWorker, queue="default")
    assert [job.args for job in all_enqueued(worker=RecordingWorker)] == [
        {"post_id": 1, "stage": "x"}
    ]


def test_manual_mode_inserts_without_running():
    with testing_mode("manual"):
        job = EchoWorker.enqueue({})
    assert Job.objects.get(pk=job.pk).state == "available"


def test_inline_mode_runs_each_job_as_it_is_inserted(executions):
    with testing_mode("inline"):
        job = RecordingWorker.enqueue({"n": 1})
    assert job.state == "completed"
    assert [row["job_id"] for row in executions("done")] == [job.pk]


def test_testing_mode_refuses_unknown_modes():
    with pytest.raises(ValueError, match="testing_mode must be one of"), testing_mode("eager"):
        pass


def test_drain_queue_runs_jobs_inserted_while_draining():
    class ChainWorker(Worker):
        def perform(self, job):
            if job.args["n"] < 3:
                ChainWorker.enqueue({"n": job.args["n"] + 1})

    ChainWorker.enqueue({"n": 1})
    assert drain_queue("default")["success"] == 3


def test_drain_queue_leaves_scheduled_jobs_unless_asked():
    EchoWorker.enqueue({}, schedule_in=3600)
    assert drain_queue("default")["success"] == 0
    assert drain_queue("default", with_scheduled=True)["success"] == 1


def test_the_testing_setting_chooses_the_mode_and_the_context_manager_overrides_it(
    settings, executions
):
    settings.JOBS = {**settings.JOBS, "testing": "inline"}
    ran = RecordingWorker.enqueue({"n": 1})
    assert ran.state == "completed"
    assert [row["job_id"] for row in executions("done")] == [ran.pk]
    with testing_mode("manual"):
        kept = RecordingWorker.enqueue({"n": 2})
    assert Job.objects.get(pk=kept.pk).state == "available"

    settings.JOBS = {**settings.JOBS, "testing": "manual"}
    assert Job.objects.get(pk=RecordingWorker.enqueue({"n": 3}).pk).state == "available"
    assert len(executions("done")) == 1
