"""The engine's Worker that runs Django tasks: one job per enqueued task, its args naming the
task (by module path) and holding its arguments. The task comes from the registry of this
process (workflows.jobs.tasks.registry), never from an import a row asks for.

It records what the task returns (record = True), sends task_started and task_finished, gives
the task a TaskContext when it takes one, and runs an `async def` task on an event loop of its
own in the worker process. Retries, timeouts, uniqueness, queue limits and rescue are the
engine's, as for any Worker.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from workflows.jobs.api.worker import Worker
from workflows.jobs.execution.attempt import describe_exception
from workflows.jobs.policy.outcomes import Discard
from workflows.jobs.policy.registry import worker_path
from workflows.jobs.tasks.compat import (
    TaskContext,
    TaskError,
    normalize_json,
    task_backends,
    task_finished,
    task_started,
)
from workflows.jobs.tasks.registry import registered_task
from workflows.jobs.tasks.results import task_result_of, with_status

logger = logging.getLogger("workflows.jobs")


def _not_discovered(path: Any) -> Discard:
    return Discard(
        f"task {path!r} is not registered in this worker process: tasks are found like "
        f"Workers, in each installed app's `workers` module and in the modules listed in "
        f"JOBS['worker_modules'] (JOBS_WORKER_MODULES); add the module that defines it there. "
        f"The row was not imported."
    )


def _send(signal, backend, result) -> None:
    """A receiver's failure must not change the task's outcome; it is named, never its data."""
    for receiver, response in signal.send_robust(sender=type(backend), task_result=result):
        if isinstance(response, Exception):
            logger.error(
                "a %s receiver (%s) raised %s",
                "task signal",
                getattr(receiver, "__qualname__", "?"),
                type(response).__name__,
            )


def call_task_function(func, args: list, kwargs: dict) -> Any:
    """Call the task's function; an `async def` one runs to completion on a new event loop."""
    if inspect.iscoroutinefunction(func):
        return asyncio.run(func(*args, **kwargs))
    return func(*args, **kwargs)


class TaskWorker(Worker):
    """Runs one enqueued Django task (workflows.jobs.tasks.JobsBackend)."""

    record = True

    def timeout(self, job) -> int | None:
        value = (job.meta or {}).get("timeout")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def perform(self, job) -> Any:
        payload = job.args or {}
        task = registered_task(payload.get("task"))
        if task is None:
            return _not_discovered(payload.get("task"))
        alias = (job.meta or {}).get("task_backend") or task.backend
        backend = task_backends[alias]
        running = task_result_of(job, task=task, backend_alias=alias)
        _send(task_started, backend, running)
        args = list(payload.get("args", []))
        if task.takes_context:
            args.insert(0, TaskContext(task_result=running))
        failure: BaseException | None = None
        value = None
        try:
            value = normalize_json(call_task_function(task.func, args, payload.get("kwargs", {})))
        except BaseException as exc:  # re-raised below, after task_finished is sent
            failure = exc
        if failure is None:
            finished = with_status(running, "SUCCESSFUL")
            object.__setattr__(finished, "_return_value", value)
        else:
            error = TaskError(
                exception_class_path=f"{type(failure).__module__}.{type(failure).__qualname__}",
                traceback=describe_exception(failure),
            )
            finished = with_status(running, "FAILED", error=error)
        # Sent outside the except block: a logging receiver then has no exception (and no
        # traceback, which may quote patient data) to attach.
        _send(task_finished, backend, finished)
        if failure is not None:
            raise failure
        return value


TASK_WORKER_PATH = worker_path(TaskWorker)
