"""Django tasks run by a real qcluster through workflows.jobs.tasks.JobsBackend: sync and async
functions, .using(priority=..., run_after=..., queue_name=...), each state get_result reports,
a failing task retried to FAILED with its error masked, and priorities ordering starts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from healthcare_cms.privacy.identifiers import cpf_generate
from tests.support import tasks_app
from tests.support.polling import wait_until
from workflows.jobs.tasks.compat import TaskResultStatus

pytestmark = [pytest.mark.cluster]

TASK_MODULES = {"JOBS_WORKER_MODULES": "tests.support.workers,tests.support.tasks_app"}


def _status(result) -> str:
    result.refresh()
    return result.status


def _until(result, status, timeout: float = 60.0):
    wait_until(lambda: _status(result) == status, timeout=timeout, message=f"{status}")
    return result


def _witnessed(kind: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM test_executions WHERE kind = %s ORDER BY id", [kind])
        return [row[0] for row in cursor.fetchall()]


def test_a_cluster_runs_sync_and_async_tasks_and_get_result_reports_each_state(
    clusters, executions
):
    clusters.start(concurrency=2, env=TASK_MODULES).wait_ready()
    added = tasks_app.add.enqueue(20, 22)
    echoed = tasks_app.async_echo.enqueue({"n": 1})
    context = tasks_app.with_context.enqueue(note="ctx")
    at = timezone.now() + timedelta(seconds=3)
    later = tasks_app.add.using(priority=-30, run_after=at, queue_name="email").enqueue(1, 2)
    assert later.status == TaskResultStatus.READY

    assert _until(added, TaskResultStatus.SUCCESSFUL).return_value == 42
    assert _until(echoed, TaskResultStatus.SUCCESSFUL).return_value == {
        "echoed": {"n": 1},
        "loop": True,
    }
    assert _until(context, TaskResultStatus.SUCCESSFUL).return_value["attempt"] == 1
    assert added.worker_ids[0] and added.attempts == 1
    assert added.started_at <= added.finished_at

    _until(later, TaskResultStatus.SUCCESSFUL, timeout=60)
    assert later.return_value == 3 and later.started_at >= at
    assert later.task.queue_name == "email" and later.task.priority == -30

    sleeping = tasks_app.sleeps.enqueue(3)
    _until(sleeping, TaskResultStatus.RUNNING, timeout=30)
    assert sleeping.finished_at is None and not sleeping.is_finished
    assert _until(sleeping, TaskResultStatus.SUCCESSFUL).return_value == 3


def test_a_failing_task_retries_and_ends_failed_with_its_error_masked(clusters, executions):
    clusters.start(concurrency=1, env=TASK_MODULES).wait_ready()
    cpf = cpf_generate(formatted=True)
    result = tasks_app.always_fails.using(max_attempts=2).enqueue(f"CPF {cpf}")
    wait_until(lambda: _status(result) == TaskResultStatus.READY and result.attempts == 1)
    assert len(result.errors) == 1
    # The retry's backoff (15 s and more) is skipped: its time is set, not waited for.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE jobs_job SET scheduled_at = now() WHERE id = %s AND state = 'retryable'",
            [int(result.id)],
        )
    _until(result, TaskResultStatus.FAILED)
    assert result.attempts == 2
    assert [e.exception_class_path for e in result.errors] == ["builtins.ValueError"] * 2
    assert "ValueError: failed for CPF" in result.errors[-1].traceback
    assert cpf not in result.errors[-1].traceback
    with pytest.raises(ValueError, match="failed"):
        result.return_value  # noqa: B018


def test_task_priorities_order_the_starts(clusters, executions):
    priorities = [-100, 50, 0, 100, -50, 10, -10, 80]
    for priority in priorities:
        tasks_app.witness_start.using(priority=priority).enqueue(str(priority))
    clusters.start(concurrency=1, env={**TASK_MODULES, "JOBS_PREFETCH": "0"})
    wait_until(lambda: len(_witnessed("task-start")) == len(priorities), timeout=60)
    started = [int(p) for p in _witnessed("task-start")]
    # Django's larger priority runs first; priorities in one engine band (0 and -10 are both
    # band 5) keep their insertion order.
    assert started == [100, 80, 50, 10, 0, -10, -50, -100]
