"""Reading jobs by the filters people and tests use (testing's assert_enqueued, `manage.py
jobs`, the admin): one definition of what "worker W" or "state S" selects."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from workflows.jobs.models import Job
from workflows.jobs.policy.registry import worker_path


def worker_filter(worker: type | str, *, by_class_name: bool = False) -> Q:
    """A Worker class, or its dotted path; with by_class_name a bare class name matches the
    path's last part exactly ("Worker" does not select every *Worker)."""
    path = worker if isinstance(worker, str) else worker_path(worker)
    if by_class_name and "." not in path:
        return Q(worker__endswith=f".{path}")
    return Q(worker=path)


def jobs_matching(
    *,
    worker: type | str | None = None,
    by_class_name: bool = False,
    queue: str | None = None,
    priority: int | None = None,
    state: str | list[str] | tuple[str, ...] | set[str] | None = None,
    args: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
) -> QuerySet[Job]:
    """Jobs matching every filter given; args and meta by containment, tags all present."""
    jobs = Job.objects.all()
    if isinstance(state, str):
        jobs = jobs.filter(state=state)
    elif state is not None:
        jobs = jobs.filter(state__in=list(state))
    if worker is not None:
        jobs = jobs.filter(worker_filter(worker, by_class_name=by_class_name))
    if queue is not None:
        jobs = jobs.filter(queue=queue)
    if priority is not None:
        jobs = jobs.filter(priority=priority)
    if args is not None:
        jobs = jobs.filter(args__contains=args)
    if meta is not None:
        jobs = jobs.filter(meta__contains=meta)
    if tags is not None:
        jobs = jobs.filter(tags__contains=list(tags))
    return jobs.order_by("id")
