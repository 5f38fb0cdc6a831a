"""The no-op Django task the Tasks-backend benchmark runs (JOBS_WORKER_MODULES=bench.tasks_noop).
Its jobs carry a sequence number only."""

from __future__ import annotations

from workflows.jobs.tasks.compat import task


@task
def noop(n):
    return None
