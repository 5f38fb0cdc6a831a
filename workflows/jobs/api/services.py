"""Operations on jobs for people and tools (admin actions, `manage.py jobs`)."""

from __future__ import annotations

from django.db.models import QuerySet

from workflows.jobs.api.jobs import cancel_jobs, delete_jobs, retry_jobs
from workflows.jobs.models import Job
from workflows.jobs.store.maintenance import PruneReport


def jobs_retry(*, ids: list[int] | None = None, queryset: QuerySet[Job] | None = None) -> int:
    """Retry jobs by id or all jobs of a queryset (e.g. the discarded jobs of a queue)."""
    if queryset is not None:
        ids = list(queryset.values_list("id", flat=True))
    return retry_jobs(ids or [])


def jobs_cancel(*, ids: list[int] | None = None, queryset: QuerySet[Job] | None = None) -> int:
    if queryset is not None:
        ids = list(queryset.values_list("id", flat=True))
    return cancel_jobs(ids or [])


def jobs_delete(*, ids: list[int] | None = None, queryset: QuerySet[Job] | None = None) -> int:
    """Delete jobs by id or all jobs of a queryset; executing jobs are kept."""
    if queryset is not None:
        ids = list(queryset.values_list("id", flat=True))
    return delete_jobs(ids or [])


def jobs_prune() -> PruneReport:
    """Run the pruner now (what the leader node does every minute)."""
    from workflows.jobs.conf import jobs_settings
    from workflows.jobs.store import database
    from workflows.jobs.store.maintenance import prune_finished_jobs

    with database.connect() as conn:
        return prune_finished_jobs(conn, jobs_settings())
