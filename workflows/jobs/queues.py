"""Queue control at runtime: pause, resume, scale and inspect, persisted for every node."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from workflows.jobs import sql
from workflows.jobs.conf import jobs_settings
from workflows.jobs.errors import JobsError, JobValidationError
from workflows.jobs.maintenance import notify_queues
from workflows.jobs.models import Node, Queue

# The jobs_queue.limit column is a PostgreSQL integer; no node runs anywhere near this many.
MAX_QUEUE_LIMIT = 1_000_000


class UnknownQueueError(JobsError, LookupError):
    """A queue name that settings.JOBS['queues'] does not define."""


def _queue_or_error(name: str) -> Queue:
    try:
        return Queue.objects.get(name=name)
    except Queue.DoesNotExist:
        defined = ", ".join(jobs_settings().queue_names)
        raise UnknownQueueError(
            f"unknown queue {name!r}: queues come from settings.JOBS['queues'] "
            f"(defined: {defined}) "
            f"and are created when a node starts or `manage.py jobs sync` runs."
        ) from None


def _notify(queue: str) -> None:
    with connection.cursor() as cursor:
        notify_queues(cursor, [queue])


def sync_queues() -> list[str]:
    """Create the queues defined in settings; a limit changed in settings replaces the
    runtime limit, an unchanged one keeps what scale_queue set."""
    conf = jobs_settings()
    with transaction.atomic(), connection.cursor() as cursor:
        for name, options in conf.queues.items():
            cursor.execute(
                sql.QUEUE_SYNC,
                {
                    "name": name,
                    "limit": int(options.get("limit", 10)),
                    "paused": bool(options.get("paused", False)),
                },
            )
    return conf.queue_names


def pause_queue(name: str) -> None:
    """Stop starting jobs of this queue on every node (within a second); running jobs finish."""
    queue = _queue_or_error(name)
    Queue.objects.filter(pk=queue.pk).update(paused=True, updated_at=timezone.now())


def resume_queue(name: str) -> None:
    queue = _queue_or_error(name)
    Queue.objects.filter(pk=queue.pk).update(paused=False, updated_at=timezone.now())
    _notify(name)


def scale_queue(name: str, limit: int) -> None:
    """Change how many jobs of this queue may execute at once across all nodes."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_QUEUE_LIMIT:
        raise JobValidationError(
            f"a queue limit must be a whole number >= 1 and at most {MAX_QUEUE_LIMIT:,}; got {limit!r}. "
            f"To stop a queue, pause it."
        )
    queue = _queue_or_error(name)
    Queue.objects.filter(pk=queue.pk).update(limit=limit, updated_at=timezone.now())
    _notify(name)


def live_nodes():
    cutoff = timezone.now() - timedelta(seconds=jobs_settings().node_dead_after_seconds)
    return Node.objects.filter(heartbeat_at__gte=cutoff)


def queues_overview() -> list[dict[str, Any]]:
    """Every queue with its state and job counts (discarded included), in one query."""
    counts: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_COUNTS_ALL)
        for queue, state, count in cursor.fetchall():
            counts.setdefault(queue, {})[state] = count
    rows = []
    for queue in Queue.objects.order_by("name"):
        queue_counts = counts.get(queue.name, {})
        rows.append(
            {
                "name": queue.name,
                "limit": queue.limit,
                "paused": queue.paused,
                "running": queue_counts.get("executing", 0),
                **{
                    state: queue_counts.get(state, 0)
                    for state in ("available", "scheduled", "retryable", "discarded")
                },
            }
        )
    return rows


def check_queue(name: str) -> dict[str, Any]:
    """The queue's limit and pause state, its job counts, and the live nodes serving it."""
    queue = _queue_or_error(name)
    counts = {"available": 0, "scheduled": 0, "executing": 0, "retryable": 0}
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_COUNTS, [name])
        counts.update(dict(cursor.fetchall()))
    nodes = sorted(node.name for node in live_nodes().filter(queues__contains=[name]))
    return {
        "name": queue.name,
        "limit": queue.limit,
        "paused": queue.paused,
        "running": counts["executing"],
        "available": counts["available"],
        "scheduled": counts["scheduled"],
        "retryable": counts["retryable"],
        "nodes": nodes,
    }
