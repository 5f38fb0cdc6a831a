"""Warming a node's workers up in cluster tests: run short jobs until every worker process of
the node has run one, and return their pids (tests then signal, freeze or kill them)."""

from __future__ import annotations

from tests.support.polling import wait_until
from tests.support.workers import ShortWorker
from workflows.jobs import Job, insert_all


def worker_pids(executions, count: int) -> set[int]:
    """Run short jobs until `count` distinct worker processes have run one."""
    jobs = insert_all(ShortWorker.new({"ms": 30}) for _ in range(count * 10))
    wait_until(
        lambda: (
            Job.objects.filter(pk__in=[j.pk for j in jobs], state="completed").count() == len(jobs)
        ),
        timeout=60,
        message="the warm-up jobs to complete",
    )
    pids = {row["pid"] for row in executions("start")}
    assert len(pids) == count, f"expected {count} worker processes, saw {pids}"
    return pids
