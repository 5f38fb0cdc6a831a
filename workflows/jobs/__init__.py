"""The job engine: Oban's semantics on PostgreSQL, executed by django-q2 worker processes.

Public API (every name below, and only these; see docs/job-engine.md and docs/architecture.md):

    from workflows.jobs import (
        Worker, Job, Unique, Snooze, Discard, Cancel, Error, JobTimeout, Outcome, JobState,
        DEFAULT_UNIQUE_STATES,
        insert, insert_all, retry_job, cancel_job,
        pause_queue, resume_queue, scale_queue, check_queue, queues_overview,
        metrics_view,   # the web app's Prometheus endpoint (docs/observability.md)
        RateLimit, Partition,
        JobsError, JobValidationError, UniqueOptionError, UnknownQueueError, CrontabError,
        Workflow, insert_workflow, cancel_workflow, retry_workflow,
    )

Telemetry signals are in workflows.jobs.signals, test helpers in workflows.jobs.testing.
Everything else in this package is internal.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.jobs.api.jobs import cancel_job, insert, insert_all, retry_job
    from workflows.jobs.api.queues import (
        check_queue,
        pause_queue,
        queues_overview,
        resume_queue,
        scale_queue,
    )
    from workflows.jobs.api.worker import Worker
    from workflows.jobs.api.workflows import (
        Workflow,
        cancel_workflow,
        insert_workflow,
        retry_workflow,
    )
    from workflows.jobs.models import Job
    from workflows.jobs.policy.errors import (
        CrontabError,
        JobsError,
        JobValidationError,
        UnknownQueueError,
    )
    from workflows.jobs.policy.limits import Partition, RateLimit
    from workflows.jobs.policy.outcomes import (
        Cancel,
        Discard,
        Error,
        JobTimeout,
        Outcome,
        Snooze,
    )
    from workflows.jobs.policy.states import JobState
    from workflows.jobs.policy.unique import DEFAULT_UNIQUE_STATES, Unique, UniqueOptionError
    from workflows.jobs.telemetry.web import metrics_view

_EXPORTS = {
    "Worker": "workflows.jobs.api.worker",
    "Job": "workflows.jobs.models",
    "Unique": "workflows.jobs.policy.unique",
    "DEFAULT_UNIQUE_STATES": "workflows.jobs.policy.unique",
    "Snooze": "workflows.jobs.policy.outcomes",
    "Discard": "workflows.jobs.policy.outcomes",
    "Cancel": "workflows.jobs.policy.outcomes",
    "Error": "workflows.jobs.policy.outcomes",
    "JobTimeout": "workflows.jobs.policy.outcomes",
    "Outcome": "workflows.jobs.policy.outcomes",
    "JobState": "workflows.jobs.policy.states",
    "JobsError": "workflows.jobs.policy.errors",
    "JobValidationError": "workflows.jobs.policy.errors",
    "UniqueOptionError": "workflows.jobs.policy.unique",
    "UnknownQueueError": "workflows.jobs.policy.errors",
    "CrontabError": "workflows.jobs.policy.errors",
    "insert": "workflows.jobs.api.jobs",
    "insert_all": "workflows.jobs.api.jobs",
    "retry_job": "workflows.jobs.api.jobs",
    "cancel_job": "workflows.jobs.api.jobs",
    "pause_queue": "workflows.jobs.api.queues",
    "resume_queue": "workflows.jobs.api.queues",
    "scale_queue": "workflows.jobs.api.queues",
    "check_queue": "workflows.jobs.api.queues",
    "queues_overview": "workflows.jobs.api.queues",
    "Workflow": "workflows.jobs.api.workflows",
    "insert_workflow": "workflows.jobs.api.workflows",
    "cancel_workflow": "workflows.jobs.api.workflows",
    "retry_workflow": "workflows.jobs.api.workflows",
    "metrics_view": "workflows.jobs.telemetry.web",
    "RateLimit": "workflows.jobs.policy.limits",
    "Partition": "workflows.jobs.policy.limits",
}

__all__ = [
    "DEFAULT_UNIQUE_STATES",
    "Cancel",
    "CrontabError",
    "Discard",
    "Error",
    "Job",
    "JobState",
    "JobTimeout",
    "JobValidationError",
    "JobsError",
    "Outcome",
    "Partition",
    "RateLimit",
    "Snooze",
    "Unique",
    "UniqueOptionError",
    "UnknownQueueError",
    "Worker",
    "Workflow",
    "cancel_job",
    "cancel_workflow",
    "check_queue",
    "insert",
    "insert_all",
    "insert_workflow",
    "metrics_view",
    "pause_queue",
    "queues_overview",
    "resume_queue",
    "retry_job",
    "retry_workflow",
    "scale_queue",
]


def __getattr__(name: str) -> Any:
    # Lazy, because this package is also the Django app: models load after the app registry.
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'workflows.jobs' has no attribute {name!r}")
