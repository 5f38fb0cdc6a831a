"""Settling jobs outside a normal attempt: staging due jobs, rescuing orphans and pruning
(the leader), releasing unstarted claims and settling interrupted attempts (every node).

Each function takes the connection to run on (a node's autocommit psycopg connection, or a
Django cursor): every statement is its own short transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from workflows.jobs.conf import JobsSettings
from workflows.jobs.store import sql
from workflows.jobs.store.rows import error_entry


def lock_cron_sync() -> None:
    """Serialise crontab syncs of several nodes: held until the caller's transaction ends."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql.XACT_LOCK, [sql.LOCK_NAMESPACE, sql.CRON_SYNC_LOCK_KEY])


def stage_due_jobs(conn, conf: JobsSettings) -> int:
    """Scheduled and retryable jobs whose time has come become available (and wake nodes)."""
    (count,) = conn.execute(sql.STAGE, [conf.stage_batch_size]).fetchone()
    return count


def rescue_orphaned_jobs(conn, conf: JobsSettings) -> int:
    """Lifeline: requeue executing jobs of dead nodes, and of no known node after rescue_after."""
    (count,) = conn.execute(
        sql.RESCUE, [conf.node_dead_after_seconds, conf.rescue_after_seconds]
    ).fetchone()
    return count


def notify_queues(conn, queues) -> None:
    if queues:
        conn.execute(sql.NOTIFY, [sql.NOTIFY_CHANNEL, sorted(set(queues))])


def release_unstarted_jobs(conn, *, node: str, claims) -> int:
    """Claimed jobs no worker started go back to available, their attempt not counted.
    `claims` are (id, attempt, attempted_at) rows of this node's claims."""
    queues = []
    for job_id, attempt, attempted_at in claims:
        row = conn.execute(
            sql.RELEASE_UNSTARTED,
            {
                "id": job_id,
                "attempt": attempt,
                "node": node,
                "attempted_at": attempted_at,
            },
        ).fetchone()
        if row:
            queues.append(row[0])
    notify_queues(conn, queues)
    return len(queues)


def settle_interrupted_attempt(
    conn, *, node: str, job_id: int, attempt: int, message: str, retry_in: float | None = None
) -> None:
    """An attempt that cannot finish (its worker died or was killed): record why, then make the
    job available now (retry_in None) or retryable after retry_in seconds; discarded when its
    attempts are spent."""
    row = conn.execute(sql.ATTEMPT_CLAIMED_AT, [job_id, attempt, node]).fetchone()
    if row is None:
        return  # settled meanwhile (the worker recorded it, or the lifeline rescued it)
    statement = sql.RESCUE_OWNED if retry_in is None else sql.RETRY_INTERRUPTED
    result = conn.execute(
        statement,
        {
            "id": job_id,
            "attempt": attempt,
            "node": node,
            "attempted_at": row[0],
            "delay": retry_in or 0.0,
            "error": error_entry(attempt, message),
        },
    ).fetchone()
    if result and result[1] == "available":
        notify_queues(conn, [result[0]])


# --- pruning: finished jobs past their age, in bounded batches so no lock is held for long
@dataclass
class PruneReport:
    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    longest_batch_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def prune_finished_jobs(
    conn,
    conf: JobsSettings,
    *,
    time_budget_seconds: float | None = None,
    batch_size: int | None = None,
) -> PruneReport:
    """Delete completed, cancelled and discarded jobs older than their configured ages.

    `conn` is an autocommit psycopg connection or a Django cursor wrapper's connection: each
    batch is its own short transaction. Stops when nothing is left or the budget is spent.
    """
    report = PruneReport()
    batch = batch_size or conf.prune_batch_size
    started = time.monotonic()
    for state, statement in sql.PRUNE.items():
        max_age = conf.prune_after_seconds.get(state)
        report.deleted[state] = 0
        if max_age is None:
            continue
        while True:
            if time_budget_seconds is not None and time.monotonic() - started > time_budget_seconds:
                return report
            batch_started = time.monotonic()
            deleted = conn.execute(statement, [float(max_age), batch]).rowcount
            report.longest_batch_seconds = max(
                report.longest_batch_seconds, time.monotonic() - batch_started
            )
            report.batches += 1
            report.deleted[state] += deleted
            if deleted < batch:
                break
    return report
