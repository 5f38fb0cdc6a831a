"""The node's side of one attempt, in a worker process: the claim ring decides whether the
claim may start, the running registry records who runs it, then the execution layer runs it.

`execute_claimed` never raises: every outcome, including crashes of the worker's code, is
recorded on the job row; an attempt whose outcome could not be recorded at all is left to the
node's supervisor, which settles it as a failed attempt (so no job can loop without counting
its attempts)."""

from __future__ import annotations

import logging
from typing import Any

from workflows.jobs.conf import jobs_settings
from workflows.jobs.execution.attempt import execute_attempt, hard_deadline_ms
from workflows.jobs.execution.interrupts import connections_dirty, reset_connections
from workflows.jobs.node import runtime as node_runtime
from workflows.jobs.store.outcomes import release_unstarted, still_owned
from workflows.jobs.store.rows import job_from_claim

logger = logging.getLogger("workflows.jobs")

# A job taken this long (local monotonic clock) after its claim is checked against the
# database first: the node may have been frozen and declared dead meanwhile, and its claims
# rescued elsewhere. Revocations by this node itself go through the claim ring.
START_CHECK_AFTER_MS = 2000


def execute_package(jobs: list[dict[str, Any]]) -> None:
    """Run the claimed jobs of one package in order. The claiming process packs a claim into
    as many packages as the node has workers, so each worker's hand-off overhead is paid once
    per package; a job waiting behind a long one in its package is still a claim in the ring
    (the supervisor releases it after prefetch_release_seconds, as any prefetched job)."""
    runtime = node_runtime.current()
    if runtime is not None:
        runtime.registry.package_taken()
    for data in jobs:
        execute_claimed(data)


def execute_claimed(data: dict[str, Any]) -> None:
    """Run one claimed job (an element of jobs_claim()'s result) in this worker process."""
    runtime = node_runtime.current()
    if runtime is None:  # pragma: no cover - only a misconfigured process gets here
        raise RuntimeError("execute_claimed runs only inside a qcluster node")
    job = job_from_claim(data, runtime.name)
    claimed_at = node_runtime.epoch_us(job.attempted_at)
    try:
        if runtime.stopping.is_set() or runtime.paused.is_paused(job.queue):
            runtime.registry.forget_claim(job.pk, job.attempt, claimed_at)
            release_unstarted(job, runtime.name)
            return
        deadline = hard_deadline_ms(
            job, node_runtime.now_ms(), jobs_settings().hard_timeout_margin_seconds
        )
        decision = runtime.registry.start(
            job.pk, job.attempt, claimed_at, deadline, check_after_ms=START_CHECK_AFTER_MS
        )
        if decision == node_runtime.StartDecision.SKIP:
            return  # revoked (released, cancelled, rescued) before any worker started it
        attempted = settled = False
        try:
            if decision == node_runtime.StartDecision.CHECK and not still_owned(job, runtime.name):
                return  # released or rescued while it waited: not ours to run
            attempted = True
            execute_attempt(job, runtime.name)
            settled = True
        finally:
            if attempted and not settled:
                runtime.registry.abandon()
            else:
                runtime.registry.leave()
    except Exception:
        logger.exception(
            "job %s attempt %s: the engine failed around the attempt; the node's supervisor "
            "settles it",
            job.pk,
            job.attempt,
        )
    finally:
        if connections_dirty():
            reset_connections()
        runtime.wake()
