"""Testing helpers, like Oban.Testing: run jobs in the test process through the real path.

    with testing_mode("inline"):       # jobs run as they are inserted
        post_create(...)
    assert_enqueued(worker=EmailWorker, args={"recipient_id": 7})
    drain_queue("email")               # {"success": 1, "failure": 0, ...}
    perform_job(EmailWorker, {"recipient_id": 7})

`testing_mode` is also a setting: JOBS["testing"] = "manual" | "inline".
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from workflows.jobs import sql
from workflows.jobs.conf import jobs_settings
from workflows.jobs.executor import Outcome, execute_attempt, perform
from workflows.jobs.rows import job_from_row
from workflows.jobs.worker import Worker, worker_path

MODES = ("manual", "inline")
_mode: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jobs_testing_mode", default=None
)
MAX_DRAIN_ITERATIONS = 100_000


def current_mode() -> str | None:
    return _mode.get() or jobs_settings().testing


@contextmanager
def testing_mode(mode: str) -> Iterator[None]:
    """manual: jobs are inserted and not run. inline: each job runs as it is inserted."""
    if mode not in MODES:
        raise ValueError(f"testing_mode must be one of {MODES}; got {mode!r}.")
    token = _mode.set(mode)
    try:
        yield
    finally:
        _mode.reset(token)


# Not a test, whatever pytest's name matching thinks when a test module imports it.
testing_mode.__test__ = False  # type: ignore[attr-defined]


def _in_process_node() -> str:
    return f"test-process.{os.getpid()}"


def _execute_now(job) -> Outcome:
    """Claim a saved job for this process and run it through the real execution path."""
    node = _in_process_node()
    with connection.cursor() as cursor:
        cursor.execute(sql.CLAIM_BY_ID, {"id": job.pk, "node": node})
        row = cursor.fetchone()
    if row is None:
        return Outcome("skipped")
    return execute_attempt(job_from_row(row), node)


def run_inline_if_enabled(job):
    if current_mode() != "inline" or job.conflict:
        return job
    _execute_now(job)
    job.refresh_from_db()
    job.conflict = False
    return job


def _worker_path(worker: type[Worker] | str) -> str:
    return worker if isinstance(worker, str) else worker_path(worker)


def perform_job(worker: type[Worker], args: dict[str, Any] | None = None, **options: Any) -> Any:
    """Build the job as `worker.new(args, **options)` would (so bad args fail the same way),
    run perform() with its timeout, and return what perform returned. Exceptions propagate.
    `attempt` (default 1) may be given to test retry logic."""
    attempt = options.pop("attempt", 1)
    job = worker.new(args, **options)
    job.attempt = attempt
    job.state = "executing"
    return perform(worker(), job)


def _enqueued(worker=None, queue=None, priority=None, state=None, args=None, meta=None, tags=None):
    from workflows.jobs.models import Job

    jobs = Job.objects.all()
    if state is None:
        jobs = jobs.filter(state__in=["available", "scheduled"])
    elif isinstance(state, list | tuple | set):
        jobs = jobs.filter(state__in=list(state))
    else:
        jobs = jobs.filter(state=state)
    if worker is not None:
        jobs = jobs.filter(worker=_worker_path(worker))
    if queue is not None:
        jobs = jobs.filter(queue=queue)
    if priority is not None:
        jobs = jobs.filter(priority=priority)
    if args is not None:
        jobs = jobs.filter(args__contains=args)
    if meta is not None:
        jobs = jobs.filter(meta__contains=meta)
    if tags is not None:
        jobs = jobs.filter(tags__contains=list(tags))
    return jobs.order_by("id")


def all_enqueued(**filters: Any) -> list:
    """Jobs matching the filters (worker, queue, priority, state, args by containment)."""
    return list(_enqueued(**filters))


def assert_enqueued(**filters: Any) -> None:
    if not _enqueued(**filters).exists():
        from workflows.jobs.models import Job

        worker = filters.get("worker")
        nearby = Job.objects.all()
        if worker is not None:
            nearby = nearby.filter(worker=_worker_path(worker))
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


def _stage_queue_now(queue: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.STAGE_QUEUE_NOW, [queue])


def drain_queue(queue: str, *, with_scheduled: bool = False) -> dict[str, int]:
    """Run the queue's available jobs in this process, including jobs they insert, until none
    is left. with_scheduled also runs scheduled and retryable jobs whatever their time, so a
    failing job is retried until it is discarded. Returns counts per outcome: a failure that
    spent the last attempt counts as a discard, as the job ends discarded."""
    counts = {"success": 0, "failure": 0, "discard": 0, "cancelled": 0, "snoozed": 0}
    kinds = {
        "completed": "success",
        "retry": "failure",
        "discard": "discard",
        "cancel": "cancelled",
        "snooze": "snoozed",
        "cancelled_while_running": "cancelled",
    }
    node = _in_process_node()
    for _ in range(MAX_DRAIN_ITERATIONS):
        if with_scheduled:
            _stage_queue_now(queue)
        with connection.cursor() as cursor:
            cursor.execute(sql.CLAIM_ONE_FOR_DRAIN, {"queue": queue, "node": node})
            row = cursor.fetchone()
        if row is None:
            return counts
        outcome = execute_attempt(job_from_row(row), node)
        if outcome.kind in kinds:
            counts[kinds[outcome.kind]] += 1
    raise RuntimeError(
        f"drain_queue({queue!r}) ran {MAX_DRAIN_ITERATIONS} jobs without emptying "
        f"the queue: a job probably snoozes or fails forever."
    )
