"""Settling jobs outside a normal attempt: staging due jobs, rescuing orphans (the leader),
releasing unstarted claims and settling interrupted attempts (every node)."""

from __future__ import annotations

from workflows.jobs import sql
from workflows.jobs.conf import JobsSettings
from workflows.jobs.executor import error_entry


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
