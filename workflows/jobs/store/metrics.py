"""The per-minute metrics the dashboard's charts read (jobs_metric): rolled up by the leader
from the jobs table, so they survive the pruning of the jobs; kept KEEP_DAYS days."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from workflows.jobs.policy.metrics import KEEP_DAYS
from workflows.jobs.store import sql

ROLLUP_MINUTES = 10  # closed minutes recomputed each time: late writers are still counted


def rollup(conn, *, now: datetime | None = None, minutes: int = ROLLUP_MINUTES) -> int:
    """Recompute the last `minutes` closed minutes; returns the rows written."""
    until = (now or timezone.now()).replace(second=0, microsecond=0)
    since = until - timedelta(minutes=minutes)
    return conn.execute(sql.METRICS_ROLLUP, {"since": since, "until": until}).rowcount


def prune(conn, *, keep_days: int = KEEP_DAYS) -> int:
    return conn.execute(sql.METRICS_PRUNE, [keep_days]).rowcount
