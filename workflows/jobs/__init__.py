"""The job engine: Oban's semantics on PostgreSQL, executed by django-q2 worker processes.

Public API (names fixed; see docs/job-engine.md):

    from workflows.jobs import (
        Worker, Job, Unique, Snooze, Discard, Cancel, Error,
        insert, insert_all, retry_job, cancel_job,
        pause_queue, resume_queue, scale_queue, check_queue,
    )
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Worker": "workflows.jobs.worker",
    "Job": "workflows.jobs.models",
    "Unique": "workflows.jobs.unique",
    "Snooze": "workflows.jobs.outcomes",
    "Discard": "workflows.jobs.outcomes",
    "Cancel": "workflows.jobs.outcomes",
    "Error": "workflows.jobs.outcomes",
    "JobTimeout": "workflows.jobs.outcomes",
    "JobValidationError": "workflows.jobs.errors",
    "JobsError": "workflows.jobs.errors",
    "insert": "workflows.jobs.engine",
    "insert_all": "workflows.jobs.engine",
    "retry_job": "workflows.jobs.engine",
    "cancel_job": "workflows.jobs.engine",
    "pause_queue": "workflows.jobs.queues",
    "resume_queue": "workflows.jobs.queues",
    "scale_queue": "workflows.jobs.queues",
    "check_queue": "workflows.jobs.queues",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Lazy, because this package is also the Django app: models load after the app registry.
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'workflows.jobs' has no attribute {name!r}")
