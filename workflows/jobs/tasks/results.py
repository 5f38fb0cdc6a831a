"""A job of the task worker read as Django's TaskResult: the state mapped to a status, the
engine's times and attempts as the result's, errors as TaskError values (masked) and the
recorded return value."""

from __future__ import annotations

import builtins
import dataclasses
import re
from datetime import datetime
from typing import Any

from workflows.jobs.execution.attempt import scrub
from workflows.jobs.tasks.compat import TaskError, TaskResult, TaskResultStatus
from workflows.jobs.tasks.mapping import django_priority, task_status

# The class path of an error entry that came from no exception (Discard, Cancel, a rescue).
NOT_AN_EXCEPTION = "workflows.jobs.policy.errors.JobsError"
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


def exception_class_path(text: str) -> str:
    """The exception class named by the last line of a stored traceback ("pkg.mod.Error: ...",
    or a builtin's bare name); NOT_AN_EXCEPTION for an entry that is not a traceback."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    match = _EXCEPTION_LINE.match(lines[-1]) if lines else None
    if match is None:
        return NOT_AN_EXCEPTION
    name = match.group(1)
    if "." in name:
        return name
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return f"builtins.{name}"
    return NOT_AN_EXCEPTION


def task_error(text: str) -> Any:
    """One stored error entry as a TaskError; the text is masked again on the way out."""
    masked = scrub(text)
    return TaskError(exception_class_path=exception_class_path(masked), traceback=masked)


def _finished_at(job) -> datetime | None:
    return {
        "completed": job.completed_at,
        "discarded": job.discarded_at,
        "cancelled": job.cancelled_at,
    }.get(job.state)


def _task_as_enqueued(task, job, backend_alias: str):
    """The task with the options this job was enqueued with (priority, queue, run_after)."""
    meta = job.meta or {}
    priority = meta.get("task_priority")
    if not isinstance(priority, int):
        priority = django_priority(job.priority)
    run_after = (
        datetime.fromisoformat(meta["task_run_after"]) if meta.get("task_run_after") else None
    )
    return dataclasses.replace(
        task, priority=priority, queue_name=job.queue, run_after=run_after, backend=backend_alias
    )


def task_result_of(job, *, task, backend_alias: str) -> Any:
    """The TaskResult of a task worker's job (the id is the job's id as a string)."""
    node = job.attempted_by[0] if job.attempted_by else ""
    payload = job.args or {}
    result = TaskResult(
        task=_task_as_enqueued(task, job, backend_alias),
        id=str(job.pk),
        status=TaskResultStatus(task_status(job.state)),
        enqueued_at=job.inserted_at,
        # The engine keeps the start of the latest attempt (Oban's attempted_at).
        started_at=job.attempted_at if job.attempt else None,
        finished_at=_finished_at(job),
        last_attempted_at=job.attempted_at if job.attempt else None,
        args=list(payload.get("args", [])),
        kwargs=dict(payload.get("kwargs", {})),
        backend=backend_alias,
        errors=[task_error(str(entry.get("error", ""))) for entry in job.errors or []],
        # One entry per attempt (TaskResult.attempts); the engine keeps the latest node only.
        worker_ids=[node] * job.attempt,
    )
    if job.state == "completed":
        object.__setattr__(result, "_return_value", job.result)
    return result


def with_status(result, status: str, *, error: Any = None) -> Any:
    """A copy of `result` as the worker reports it after an attempt."""
    errors = [*result.errors, error] if error is not None else list(result.errors)
    changed = dataclasses.replace(result, status=TaskResultStatus(status), errors=errors)
    object.__setattr__(changed, "_return_value", result._return_value)
    return changed
