"""Testing helpers, like Oban.Testing: run jobs in the test process through the real path.

    with testing_mode("inline"):       # jobs run as they are inserted
        post_create(...)
    assert_enqueued(worker=EmailWorker, args={"recipient_id": 7})
    drain_queue("email")               # {"success": 1, "failure": 0, ...}
    perform_job(EmailWorker, {"recipient_id": 7})

`testing_mode` is also a setting: JOBS["testing"] = "manual" | "inline".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from workflows.jobs.api.selectors import jobs_matching, worker_filter
from workflows.jobs.api.worker import Worker
from workflows.jobs.execution import strategies
from workflows.jobs.execution.attempt import execute_attempt, perform
from workflows.jobs.policy.outcomes import AttemptResult, Outcome
from workflows.jobs.store.outcomes import claim_next, stage_queue_now

MODES = strategies.MODES
MAX_DRAIN_ITERATIONS = 100_000
WAITING_STATES = ("available", "scheduled")


def current_mode() -> str | None:
    return strategies.current_mode()


@contextmanager
def testing_mode(mode: str) -> Iterator[None]:
    """manual: jobs are inserted and not run. inline: each job runs as it is inserted."""
    token = strategies.set_mode(mode)
    try:
        yield
    finally:
        strategies.reset_mode(token)


# Not a test, whatever pytest's name matching thinks when a test module imports it.
testing_mode.__test__ = False  # type: ignore[attr-defined]


def perform_job(worker: type[Worker], args: dict[str, Any] | None = None, **options: Any) -> Any:
    """Build the job as `worker.new(args, **options)` would (so bad args fail the same way),
    run perform() with its timeout, and return what perform returned. Exceptions propagate.
    `attempt` (default 1) may be given to test retry logic."""
    attempt = options.pop("attempt", 1)
    job = worker.new(args, **options)
    job.attempt = attempt
    job.state = "executing"
    return perform(worker(), job)


def _enqueued(state=None, **filters: Any):
    return jobs_matching(state=WAITING_STATES if state is None else state, **filters)


def all_enqueued(**filters: Any) -> list:
    """Jobs matching the filters (worker, queue, priority, state, args by containment)."""
    return list(_enqueued(**filters))


def assert_enqueued(**filters: Any) -> None:
    if not _enqueued(**filters).exists():
        from workflows.jobs.models import Job

        worker = filters.get("worker")
        nearby = Job.objects.all()
        if worker is not None:
            nearby = nearby.filter(worker_filter(worker))
        seen = [
            {
                "id": j.id,
                "worker": j.worker_name,
                "queue": j.queue,
                "state": j.state,
                "args": j.args,
            }
            for j in nearby.order_by("-id")[:10]
        ]
        raise AssertionError(
            f"expected a job matching {filters!r}; found none. Recent jobs: {seen}"
        )


def refute_enqueued(**filters: Any) -> None:
    found = list(_enqueued(**filters)[:5])
    if found:
        raise AssertionError(
            f"expected no job matching {filters!r}; "
            f"found {[(j.id, j.worker_name, j.args) for j in found]}"
        )


# What drain_queue counts each attempt as; a failure that spent the last attempt counts as a
# discard, as the job ends discarded.
def _drain_key(result: AttemptResult) -> str | None:
    if result.outcome is None:
        return None  # claim lost: nothing happened to count
    if result.discards:
        return "discard"
    return _DRAIN_KEYS[result.outcome]


_DRAIN_KEYS = {
    Outcome.COMPLETED: "success",
    Outcome.FAILED: "failure",
    Outcome.CANCELLED: "cancelled",
    Outcome.SNOOZED: "snoozed",
}


def drain_queue(queue: str, *, with_scheduled: bool = False) -> dict[str, int]:
    """Run the queue's available jobs in this process, including jobs they insert, until none
    is left. with_scheduled also runs scheduled and retryable jobs whatever their time, so a
    failing job is retried until it is discarded. Returns counts per outcome: success,
    failure, discard, cancelled, snoozed."""
    counts = {"success": 0, "failure": 0, "discard": 0, "cancelled": 0, "snoozed": 0}
    node = strategies.in_process_node()
    for _ in range(MAX_DRAIN_ITERATIONS):
        if with_scheduled:
            stage_queue_now(queue)
        job = claim_next(queue, node)
        if job is None:
            return counts
        key = _drain_key(execute_attempt(job, node))
        if key:
            counts[key] += 1
    raise RuntimeError(
        f"drain_queue({queue!r}) ran {MAX_DRAIN_ITERATIONS} jobs without emptying "
        f"the queue: a job probably snoozes or fails forever."
    )
