"""The Worker base class: what a job does, its defaults, and how to build and insert its jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone

from workflows.jobs.policy import validation
from workflows.jobs.policy.backoff import default_backoff
from workflows.jobs.policy.registry import (
    register_worker,
    registered_workers,
    resolve_worker,
    worker_path,
)
from workflows.jobs.policy.unique import Unique

if TYPE_CHECKING:
    from workflows.jobs.models import Job

_UNSET: Any = object()

__all__ = ["Worker", "registered_workers", "resolve_worker", "worker_path"]


class Worker:
    """Subclass and implement perform(job). Class attributes give the defaults of its jobs."""

    queue: ClassVar[str] = "default"
    max_attempts: ClassVar[int] = 20
    priority: ClassVar[int] = 0
    tags: ClassVar[tuple[str, ...]] = ()
    unique: ClassVar[Unique | None] = None
    # perform() runs in a transaction that commits with the job's outcome; set False for work
    # that commits as it goes (batches, or side effects that must be remembered at once).
    transactional: ClassVar[bool] = True
    # Store what perform returns as the job's result (job.result): JSON, validated and limited
    # like args (JOBS['max_args_bytes']); a value that is not is a failed attempt saying why.
    # A result may hold patient data: the admin masks it like args, and it is never logged.
    record: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_worker(cls)

    def perform(self, job: Job) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement perform(job).")

    def backoff(self, job: Job) -> int:
        """Seconds to wait before the next attempt after a failure."""
        return default_backoff(job.attempt, job.max_attempts)

    def timeout(self, job: Job) -> int | None:
        """Whole seconds an attempt may run, or None for no limit."""
        return None

    @classmethod
    def new(
        cls,
        args: dict[str, Any] | None = None,
        *,
        queue: str = _UNSET,
        priority: int = _UNSET,
        max_attempts: int = _UNSET,
        scheduled_at=None,
        schedule_in=None,
        tags: list[str] = _UNSET,
        meta: dict[str, Any] | None = None,
        unique: Unique | None = _UNSET,
    ) -> Job:
        """An unsaved, validated Job of this worker; every option defaults to the class's.

        Args and meta are captured here (validated and serialised): assign job.args a new
        object to change them before insert, rather than mutating the one given."""
        from workflows.jobs.conf import jobs_settings
        from workflows.jobs.models import Job

        conf = jobs_settings()
        args = {} if args is None else args
        meta = {} if meta is None else meta
        args_json = validation.check_json_object(args, "args", max_bytes=conf.max_args_bytes)
        meta_json = validation.check_json_object(meta, "meta", max_bytes=conf.max_args_bytes)
        job = Job(
            worker=worker_path(cls),
            queue=validation.check_queue(cls.queue if queue is _UNSET else queue),
            args=args,
            meta=meta,
            tags=validation.check_tags(cls.tags if tags is _UNSET else tags),
            priority=validation.check_priority(cls.priority if priority is _UNSET else priority),
            max_attempts=validation.check_max_attempts(
                cls.max_attempts if max_attempts is _UNSET else max_attempts
            ),
            attempt=0,
            errors=[],
        )
        job.scheduled_at = validation.check_schedule(scheduled_at, schedule_in, timezone.now())
        job.unique_option = validation.check_unique(cls.unique if unique is _UNSET else unique)
        job.validated_json = ((args, args_json), (meta, meta_json))
        job.conflict = False
        return job

    @classmethod
    def enqueue(cls, args: dict[str, Any] | None = None, **options: Any) -> Job:
        """insert(new(args, **options))."""
        from workflows.jobs.api.jobs import insert

        return insert(cls.new(args, **options))
