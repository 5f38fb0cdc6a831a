"""Deleting finished jobs past their age, in bounded batches so no lock is held for long."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from workflows.jobs import sql
from workflows.jobs.conf import JobsSettings


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
