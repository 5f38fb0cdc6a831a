"""The queues' persisted runtime state (jobs_queue) and their job counts."""

from __future__ import annotations

import json
from typing import Any

from django.db import OperationalError, connection, transaction

from workflows.jobs.policy.errors import JobsError
from workflows.jobs.store import sql
from workflows.jobs.store.maintenance import notify_queues

# How long a partition change waits for transactions that are inserting jobs into the queue.
PARTITION_LOCK_TIMEOUT = "10s"


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def sync(queues: dict[str, dict[str, Any]]) -> None:
    """Create each queue (name -> limit, paused, rate_limit, partition as JSON-ready dicts); a
    value changed in settings replaces the runtime one, an unchanged one keeps what
    scale_queue set. A partition that changes re-keys the queue's jobs."""
    with transaction.atomic(), connection.cursor() as cursor:
        for name, options in queues.items():
            cursor.execute(sql.QUEUE_PARTITION, [name])
            row = cursor.fetchone()
            configured = options.get("partition")
            if row is not None and row[1] != configured:
                _lock_partition(cursor, name)
            cursor.execute(
                sql.QUEUE_SYNC,
                {
                    "name": name,
                    "limit": options["limit"],
                    "paused": options["paused"],
                    "rate_limit": _json(options.get("rate_limit")),
                    "partition": _json(configured),
                },
            )
            if row is not None and row[1] != configured and row[0] != configured:
                cursor.execute(sql.PARTITION_REKEY, {"name": name, "partition": _json(configured)})


def _lock_partition(cursor, name: str) -> None:
    cursor.execute(sql.PARTITION_LOCK_TIMEOUT, [PARTITION_LOCK_TIMEOUT])
    try:
        with transaction.atomic():
            cursor.execute(sql.PARTITION_LOCK, [name])
        cursor.execute(sql.PARTITION_LOCK_TIMEOUT, ["0"])
    except OperationalError:
        raise JobsError(
            f"the partition of queue {name!r} was not changed: transactions inserting jobs "
            f"into it were still open after {PARTITION_LOCK_TIMEOUT}; try again."
        ) from None


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


def set_rate_limit(name: str, rate_limit: dict | None) -> bool:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_SET_RATE_LIMIT, [_json(rate_limit), name])
        updated = cursor.rowcount == 1
        if updated and rate_limit is None:
            cursor.execute(sql.QUEUE_FORGET_STARTS, [name])
        if updated:
            notify_queues(cursor, [name])
    return updated


def set_partition(name: str, partition: dict | None) -> bool:
    """Replace the queue's partition and re-key its unfinished jobs, in one transaction that
    first waits (PARTITION_LOCK_TIMEOUT at most) for the transactions inserting into it."""
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_partition(cursor, name)
        cursor.execute(sql.QUEUE_SET_PARTITION, [_json(partition), name])
        updated = cursor.rowcount == 1
        if updated:
            cursor.execute(sql.PARTITION_REKEY, {"name": name, "partition": _json(partition)})
            notify_queues(cursor, [name])
    return updated


def window_use(name: str, period_seconds: int) -> int:
    """Jobs of the queue started in the current rate window."""
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_WINDOW_USE, [name, period_seconds])
        return int(cursor.fetchone()[0])


def partition_use(name: str, partition: dict) -> dict[str, int]:
    """Partitions with jobs running, the most running in one, partitions with jobs waiting."""
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_PARTITION_USE, {"name": name, "partition": _json(partition)})
        running, busiest, waiting = cursor.fetchone()
    return {"partitions_running": running, "busiest": busiest, "partitions_waiting": waiting}


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
