"""Pruning deletes finished jobs past their age, per state, in bounded batches."""

from datetime import timedelta

import pytest
from django.db import connection

from tests.support.workers import RecordingWorker
from workflows.jobs import Job, insert_all
from workflows.jobs.conf import jobs_settings
from workflows.jobs.store.maintenance import prune_finished_jobs


def _finish(ids, state: str, days_ago: float):
    column = {
        "completed": "completed_at",
        "cancelled": "cancelled_at",
        "discarded": "discarded_at",
    }[state]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE jobs_job SET state = %s, {column} = now() - %s WHERE id = ANY(%s)",
            [state, timedelta(days=days_ago), list(ids)],
        )


@pytest.mark.django_db
def test_finished_jobs_past_their_age_are_deleted_and_younger_ones_kept(settings):
    settings.JOBS = {
        **settings.JOBS,
        "prune_after_seconds": {
            "completed": 7 * 86400,
            "cancelled": 7 * 86400,
            "discarded": 30 * 86400,
        },
    }
    jobs = [job.pk for job in insert_all([RecordingWorker.new({"n": i}) for i in range(10)])]
    _finish(jobs[0:2], "completed", 8)  # pruned
    _finish(jobs[2:3], "completed", 6)  # kept
    _finish(jobs[3:4], "cancelled", 8)  # pruned
    _finish(jobs[4:5], "discarded", 8)  # kept: dead letters stay 30 days
    _finish(jobs[5:6], "discarded", 31)  # pruned
    with connection.cursor() as cursor:
        report = prune_finished_jobs(cursor, jobs_settings())
    assert report.deleted == {"completed": 2, "cancelled": 1, "discarded": 1}
    remaining = set(Job.objects.values_list("pk", flat=True))
    assert remaining == set(jobs) - {jobs[0], jobs[1], jobs[3], jobs[5]}


@pytest.mark.django_db
def test_pruning_works_in_batches_of_the_configured_size():
    jobs = [job.pk for job in insert_all([RecordingWorker.new({"n": i}) for i in range(25)])]
    _finish(jobs, "completed", 10)
    with connection.cursor() as cursor:
        report = prune_finished_jobs(cursor, jobs_settings(), batch_size=10)
    assert report.deleted["completed"] == 25
    assert report.batches >= 3 + 2, "three batches for completed jobs, one each for the others"
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_state_can_be_kept_forever(settings):
    settings.JOBS = {
        **settings.JOBS,
        "prune_after_seconds": {"completed": 86400, "cancelled": 86400, "discarded": None},
    }
    jobs = [job.pk for job in insert_all([RecordingWorker.new({}) for _ in range(2)])]
    _finish(jobs, "discarded", 3650)
    with connection.cursor() as cursor:
        prune_finished_jobs(cursor, jobs_settings())
    assert Job.objects.count() == 2


def test_the_leader_prunes_periodically():
    from workflows.jobs.node.supervisor import Supervisor

    tasks = {task.action.__name__: task for task in Supervisor.task_table(jobs_settings())}
    assert (
        tasks["prune"].leader_only
        and tasks["prune"].interval == jobs_settings().prune_interval_seconds
    )
