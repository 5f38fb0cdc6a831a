"""JobsBackend: Django's Tasks API on the job engine. Every `@task` of the codebase is a job
of the engine's TaskWorker, with the engine's guarantees (docs/django-tasks.md).

    TASKS = {"default": {
        "BACKEND": "workflows.jobs.tasks.JobsBackend",
        "QUEUES": ["default", "email"],               # engine queues (settings.JOBS['queues'])
        "OPTIONS": {"max_attempts": 5, "timeout": 300},  # defaults of every task
    }}

enqueue() inserts the job on Django's connection, in the caller's transaction: the job exists
if and only if that transaction commits (a worker never sees a task whose rows rolled back).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core import checks

from workflows.jobs.api.jobs import insert
from workflows.jobs.conf import jobs_settings
from workflows.jobs.models import Job
from workflows.jobs.policy import validation
from workflows.jobs.policy.errors import JobValidationError
from workflows.jobs.policy.unique import Unique
from workflows.jobs.tasks.compat import (
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResultDoesNotExist,
    task_enqueued,
)
from workflows.jobs.tasks.mapping import engine_priority
from workflows.jobs.tasks.registry import register_task, registered_task
from workflows.jobs.tasks.results import task_result_of
from workflows.jobs.tasks.worker import TASK_WORKER_PATH, TaskWorker

_UNSET: Any = object()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobsTask(Task):
    """A Task with the engine's per-task options (None: the backend's OPTIONS, then the
    engine's defaults). On the backport, `@task(max_attempts=3)` sets them; on every Django,
    `.using(max_attempts=3, timeout=60, unique=Unique(period=60))` does."""

    max_attempts: int | None = None
    timeout: int | None = None  # whole seconds an attempt may run
    unique: Unique | None = None

    def __post_init__(self) -> None:
        Task.__post_init__(self)  # validates (slots dataclasses cannot use zero-argument super)
        register_task(self)

    def using(
        self,
        *,
        priority: int | None = None,
        queue_name: str | None = None,
        run_after: datetime | None = None,
        backend: str | None = None,
        max_attempts: int | None = None,
        timeout: int | None = None,
        unique: Unique | None = _UNSET,
    ) -> JobsTask:
        changed = Task.using(
            self, priority=priority, queue_name=queue_name, run_after=run_after, backend=backend
        )
        engine = {}
        if max_attempts is not None:
            engine["max_attempts"] = max_attempts
        if timeout is not None:
            engine["timeout"] = timeout
        if unique is not _UNSET:
            engine["unique"] = unique
        return dataclasses.replace(changed, **engine) if engine else changed


def _invalid(task, problem: Any) -> InvalidTask:
    return InvalidTask(f"{task.module_path}: {problem}")


class JobsBackend(BaseTaskBackend):
    """Django's task backend on the engine (see the module docstring)."""

    task_class = JobsTask
    supports_defer = True
    supports_get_result = True
    supports_priority = True
    supports_async_task = True

    # --- validation ----------------------------------------------------------------------------
    def _engine_options(self, task) -> tuple[int | None, int | None, Unique | None]:
        """max_attempts, timeout and unique of a task: its own, else OPTIONS; checked."""
        max_attempts = getattr(task, "max_attempts", None)
        if max_attempts is None:
            max_attempts = self.options.get("max_attempts")
        timeout = getattr(task, "timeout", None)
        if timeout is None:
            timeout = self.options.get("timeout")
        if max_attempts is not None:
            validation.check_max_attempts(max_attempts)
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1
        ):
            raise JobValidationError(f"timeout must be whole seconds >= 1; got {timeout!r}.")
        return max_attempts, timeout, validation.check_unique(getattr(task, "unique", None))

    def validate_task(self, task) -> None:
        """Django's checks (module-level function, context argument, priority, run_after,
        QUEUES), then the engine's: the queue is an engine queue, the options are valid."""
        super().validate_task(task)
        try:
            validation.check_queue(task.queue_name)
            self._engine_options(task)
        except JobValidationError as exc:
            raise _invalid(task, exc) from None

    # --- enqueue -------------------------------------------------------------------------------
    def enqueue(self, task, args, kwargs):
        """Store one job in the caller's transaction and return its TaskResult (READY)."""
        self.validate_task(task)
        max_attempts, timeout, unique = self._engine_options(task)
        meta: dict[str, Any] = {"task_backend": self.alias, "task_priority": task.priority}
        if timeout is not None:
            meta["timeout"] = timeout
        if task.run_after is not None:
            meta["task_run_after"] = task.run_after.isoformat()
        options: dict[str, Any] = {
            "queue": task.queue_name,
            "priority": engine_priority(task.priority),
            "scheduled_at": task.run_after,
            "meta": meta,
            "unique": unique,
        }
        if max_attempts is not None:
            options["max_attempts"] = max_attempts
        try:
            validation.check_json_value(list(args), "args")
            validation.check_json_object(dict(kwargs), "kwargs")
            job = TaskWorker.new(
                {"task": task.module_path, "args": list(args), "kwargs": dict(kwargs)}, **options
            )
        except JobValidationError as exc:
            raise _invalid(task, exc) from None
        job = insert(job)
        result = task_result_of(job, task=task, backend_alias=self.alias)
        task_enqueued.send(type(self), task_result=result)
        return result

    # --- results -------------------------------------------------------------------------------
    def get_result(self, result_id):
        """The TaskResult of a job the backend enqueued; TaskResultDoesNotExist otherwise."""
        try:
            job_id = int(str(result_id))
            validation.check_job_ids([job_id])
        except (ValueError, JobValidationError):
            raise TaskResultDoesNotExist(f"no task result has the id {result_id!r}") from None
        job = Job.objects.filter(pk=job_id, worker=TASK_WORKER_PATH).first()
        if job is None:
            raise TaskResultDoesNotExist(f"no task result has the id {result_id!r}")
        path = (job.args or {}).get("task")
        task = registered_task(path)
        if task is None:
            raise TaskResultDoesNotExist(
                f"task result {result_id!r} is of the task {path!r}, which is not registered in "
                f"this process: list its module in JOBS['worker_modules'] or move it to an "
                f"installed app's `workers` module."
            )
        return task_result_of(job, task=task, backend_alias=self.alias)

    # --- system checks -------------------------------------------------------------------------
    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        engine_queues = jobs_settings().queue_names
        for name in sorted(self.queues - set(engine_queues)):
            yield checks.Error(
                f"TASKS[{self.alias!r}]['QUEUES'] names the queue {name!r}, which the job engine "
                f"does not define: add it to settings.JOBS['queues'] (JOBS_QUEUES) or remove it "
                f"from QUEUES. Engine queues: {', '.join(engine_queues)}.",
                id="jobs.E101",
            )
        try:
            self._engine_options(None)
        except JobValidationError as exc:
            yield checks.Error(f"TASKS[{self.alias!r}]['OPTIONS']: {exc}", id="jobs.E102")
