"""The queues' persisted runtime state (jobs_queue) and their job counts."""

from __future__ import annotations

from django.db import connection, transaction

from workflows.jobs.store import sql
from workflows.jobs.store.maintenance import notify_queues


def sync(queues: dict[str, tuple[int, bool]]) -> None:
    """Create each queue (name -> (limit, paused)); a limit changed in settings replaces the
    runtime limit, an unchanged one keeps what scale_queue set."""
    with transaction.atomic(), connection.cursor() as cursor:
        for name, (limit, paused) in queues.items():
            cursor.execute(sql.QUEUE_SYNC, {"name": name, "limit": limit, "paused": paused})


def set_paused(name: str, paused: bool) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_SET_PAUSED, [paused, name])
        updated = cursor.rowcount == 1
        if updated and not paused:
            notify_queues(cursor, [name])
    return updated


def set_limit(name: str, limit: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_SET_LIMIT, [limit, name])
        updated = cursor.rowcount == 1
        if updated:
            notify_queues(cursor, [name])
    return updated


def counts(name: str) -> dict[str, int]:
    """Unfinished jobs of one queue by state."""
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_COUNTS, [name])
        return dict(cursor.fetchall())


def counts_by_queue() -> dict[str, dict[str, int]]:
    """Every queue's jobs by state (discarded included), in one query."""
    found: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_COUNTS_ALL)
        for queue, state, count in cursor.fetchall():
            found.setdefault(queue, {})[state] = count
    return found
