"""The engine's own Workers, discovered like every app's `workers` module: the one that runs
Django tasks (workflows.jobs.tasks), so every process can run or refuse a task's job."""

from workflows.jobs.tasks.worker import TaskWorker

__all__ = ["TaskWorker"]
