"""Django's Tasks API on the job engine: `workflows.jobs.tasks.JobsBackend` for
settings.TASKS, and JobsTask, its task class (docs/django-tasks.md).

    compat    the Tasks names from django.tasks (Django >= 6.0) or django_tasks (5.2)
    mapping   priorities and states between Django's vocabulary and the engine's (pure)
    registry  the tasks this process knows, by module path (rows never cause imports)
    results   a job read as a TaskResult
    worker    TaskWorker, the engine Worker that runs a task
    backend   JobsBackend and JobsTask
"""

from __future__ import annotations

from workflows.jobs.tasks.backend import JobsBackend, JobsTask

__all__ = ["JobsBackend", "JobsTask"]
