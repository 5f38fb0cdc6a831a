"""The leader's periodic work besides pruning: staging due jobs and rescuing orphans."""

from __future__ import annotations

from workflows.jobs import sql
from workflows.jobs.conf import JobsSettings


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
