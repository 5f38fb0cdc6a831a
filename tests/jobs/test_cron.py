"""Cron through django-q2's scheduler: one job per slot, configuration errors caught early."""

import json
import time
from datetime import timedelta

import pytest
from django.core import checks
from django.utils import timezone
from django_q.models import Schedule

from tests.support.commands import manage_py
from tests.support.polling import wait_until
from workflows.jobs import Job
from workflows.jobs.checks import check_jobs_configuration
from workflows.jobs.node.cron import CRON_FUNCTION, insert_cron_job
from workflows.jobs.runner.schedules import sync_schedules

WORKER = "tests.support.workers.RecordingWorker"


def _crontab(settings, entries):
    settings.JOBS = {**settings.JOBS, "crontab": entries}


@pytest.mark.django_db
class TestSchedules:
    def test_the_crontab_becomes_cron_schedules_and_removed_entries_disappear(self, settings):
        _crontab(settings, [("*/5 * * * *", WORKER), ("0 3 * * *", WORKER, {"priority": 2})])
        assert sync_schedules() == 2
        schedules = Schedule.objects.order_by("cron")
        assert [(s.schedule_type, s.cron, s.func) for s in schedules] == [
            (Schedule.CRON, "*/5 * * * *", CRON_FUNCTION),
            (Schedule.CRON, "0 3 * * *", CRON_FUNCTION),
        ]
        first_run = schedules[0].next_run
        assert first_run > timezone.now() and first_run.minute % 5 == 0
        _crontab(settings, [("0 3 * * *", WORKER, {"priority": 2})])
        sync_schedules()
        assert list(Schedule.objects.values_list("cron", flat=True)) == ["0 3 * * *"]

    def test_a_slot_inserts_exactly_one_job_however_often_it_fires(self, settings):
        _crontab(settings, [("0 3 * * *", WORKER, {"priority": 2, "args": {"report": "daily"}})])
        slot = "2026-11-29T03:00:00+00:00"
        jobs = [insert_cron_job(WORKER, "0 3 * * *", slot) for _ in range(3)]
        assert [job.conflict for job in jobs] == [False, True, True]
        (job,) = Job.objects.all()
        assert job.priority == 2 and job.args == {"report": "daily"}
        assert job.meta == {"cron_expr": "0 3 * * *", "cron_slot": slot}
        insert_cron_job(WORKER, "0 3 * * *", "2026-11-30T03:00:00+00:00")
        assert Job.objects.count() == 2, "the next slot is a new job"

    def test_the_broker_refuses_other_django_q2_tasks(self):
        from django_q.tasks import async_task

        with pytest.raises(ValueError, match="cannot be queued here"):
            async_task("os.system", "true")


@pytest.mark.django_db(
    transaction=True
)  # django-q2's scheduler closes connections it finds in a transaction
class TestScheduler:
    def test_django_q2_s_scheduler_fires_due_schedules_through_the_engine(self, settings):
        from django_q.scheduler import scheduler

        from workflows.jobs.runner.broker import JobsBroker

        _crontab(settings, [("*/5 * * * *", WORKER)])
        sync_schedules()
        Schedule.objects.update(next_run=timezone.now() - timedelta(minutes=1))
        scheduler(broker=JobsBroker())
        scheduler(broker=JobsBroker())
        (job,) = Job.objects.all()
        assert job.worker == WORKER and job.meta["cron_expr"] == "*/5 * * * *"
        assert Schedule.objects.get().next_run > timezone.now()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("61 * * * *", WORKER), "invalid cron expression '61 * * * *'"),
        (("* * * * *", "tests.support.workers.NoSuchWorker"), "unknown worker"),
        (("* * * * *", WORKER, {"colour": "red"}), "unknown options"),
        (("* * * * *",), "must be (expression, worker[, options])"),
        (("* * * * *", WORKER, {"queue": "emial"}), "did you mean 'email'"),
    ],
)
def test_a_bad_crontab_entry_fails_the_system_check_with_a_clear_message(settings, entry, message):
    _crontab(settings, [entry])
    errors = check_jobs_configuration()
    assert any(message in error.msg for error in errors), [e.msg for e in errors]
    assert all(isinstance(error, checks.Error) for error in errors)


def test_a_bad_crontab_stops_manage_py():
    import os

    env = {
        **os.environ,
        "JOBS_CRONTAB_OVERRIDE": json.dumps([["0 25 * * *", WORKER]]),
        "JOBS_WORKER_MODULES": "tests.support.workers",
    }
    result = manage_py("check", env=env)
    assert result.returncode != 0 and "invalid cron expression '0 25 * * *'" in result.stderr


@pytest.mark.cluster
def test_three_clusters_insert_one_job_per_cron_slot(clusters, executions):
    env = {"JOBS_CRONTAB_OVERRIDE": json.dumps([["* * * * *", WORKER]])}
    nodes = [clusters.start(concurrency=1, env=env) for _ in range(3)]
    for node in nodes:
        node.wait_ready()
    due = (timezone.now() - timedelta(minutes=1)).replace(second=0, microsecond=0)
    Schedule.objects.update(next_run=due)
    # django-q2's scheduler runs every 30 s in each cluster: after 31 s all three have had
    # their turn at the due slot.
    time.sleep(31)
    jobs = [job for job in Job.objects.all() if job.meta["cron_slot"] == due.isoformat()]
    assert len(jobs) == 1, [job.meta for job in Job.objects.all()]
    wait_until(
        lambda: any(row["job_id"] == jobs[0].pk for row in executions("done")),
        timeout=30,
        message="the cron job to run",
    )
