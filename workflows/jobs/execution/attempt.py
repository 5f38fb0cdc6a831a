"""One attempt of a claimed job: perform() under its timeout and cancellation, the outcome
classified, and recorded through the store.

Every path that runs an attempt comes through `execute_attempt`: a node's worker processes
(workflows.jobs.node.attempts), tests' drain_queue and inline mode, so tests run the real path.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from django.db import connection, transaction
from django.utils.module_loading import import_string
from psycopg.pq import TransactionStatus

from workflows.jobs.conf import jobs_settings
from workflows.jobs.execution.interrupts import interruptible, reset_connections
from workflows.jobs.policy import validation
from workflows.jobs.policy.errors import JobValidationError
from workflows.jobs.policy.outcomes import (
    AttemptResult,
    Cancel,
    Discard,
    Error,
    JobCancelledWhileRunning,
    JobTimeout,
    Outcome,
    Snooze,
)
from workflows.jobs.policy.registry import resolve_worker
from workflows.jobs.policy.text import clamp_delay, storable_text
from workflows.jobs.store.outcomes import record_outcome
from workflows.jobs.telemetry import attempts as telemetry

logger = logging.getLogger("workflows.jobs")


def scrub(text: str) -> str:
    """Mask patient data with JOBS['error_scrubber'], then make the text storable."""
    path = jobs_settings().error_scrubber
    if path:
        text = import_string(path)(storable_text(text))
    return storable_text(text)


def describe_exception(exc: BaseException) -> str:
    try:
        rendered = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:  # an exception whose __str__ raises still gets an entry
        rendered = (
            f"{type(exc).__module__}.{type(exc).__qualname__} (its message could not be read)"
        )
    return scrub(rendered.strip())


def checked_timeout(worker, job) -> int | None:
    value = worker.timeout(job)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TypeError(
            f"{type(worker).__name__}.timeout() must return whole seconds >= 1 or None; "
            f"got {value!r}"
        )
    return value


def _failure(worker, job, text: str) -> AttemptResult:
    if job.attempt >= job.max_attempts:
        return AttemptResult(Outcome.FAILED, error=text, spent=True)
    try:
        delay = float(worker.backoff(job)) if worker is not None else 0.0
    except Exception as exc:  # a broken backoff must not lose the job: fall back to the default
        from workflows.jobs.policy.backoff import default_backoff

        logger.error(
            "backoff() of %s failed (%s); using the default", job.worker, type(exc).__name__
        )
        delay = float(default_backoff(job.attempt, job.max_attempts))
    return AttemptResult(Outcome.FAILED, delay=clamp_delay(delay), error=text)


def recorded_return_value(worker, job, value: Any) -> AttemptResult:
    """The completion of a worker with `record = True`, carrying perform's return value as
    JSON text for the store; a value JSON cannot hold (or too large) fails the attempt with an
    error that names the problem, never the value (a result may hold patient data)."""
    try:
        text = validation.check_json_value(
            value, "the return value", max_bytes=jobs_settings().max_args_bytes
        )
    except JobValidationError as exc:
        return _failure(
            worker,
            job,
            scrub(
                f"{job.worker} returned a value that cannot be recorded as its result "
                f"(record = True): {exc} Return JSON: dict, list, str, int, float, bool or None."
            ),
        )
    return AttemptResult(Outcome.COMPLETED, result_json=text)


def classify(worker, job, result: Any) -> AttemptResult:
    if isinstance(result, Snooze):
        return AttemptResult(Outcome.SNOOZED, delay=clamp_delay(result.seconds))
    if isinstance(result, Discard):
        return AttemptResult(Outcome.DISCARDED, error=scrub(f"Discarded: {result.reason}"))
    if isinstance(result, Cancel):
        return AttemptResult(Outcome.CANCELLED, error=scrub(f"Cancelled: {result.reason}"))
    if isinstance(result, Error):
        return _failure(worker, job, scrub(f"Error: {result.reason}"))
    if getattr(worker, "record", False):
        return recorded_return_value(worker, job, result)
    return AttemptResult(Outcome.COMPLETED)


def perform(worker, job) -> Any:
    """Call worker.perform(job) under its timeout; exceptions propagate."""
    timeout = checked_timeout(worker, job)
    try:
        with interruptible(timeout, job.pk):
            return worker.perform(job)
    except JobTimeout:
        raise JobTimeout(f"{job.worker} exceeded its timeout of {timeout} s") from None


class _ClaimLost(Exception):
    """The attempt no longer owns its job (rescued, released or cancelled meanwhile)."""


class _RollBack(Exception):
    def __init__(self, result: AttemptResult):
        self.result = result


def _unknown_worker(job) -> AttemptResult:
    """Discarded at once: no attempt could succeed. Recorded as a failure (not a worker's
    Discard), so operations are alerted to a job nothing can run."""
    return AttemptResult(
        Outcome.FAILED,
        spent=True,
        error=scrub(
            f"Unknown worker {job.worker!r}: no Worker subclass is registered under that name. "
            f"Workers are found in each installed app's `workers` module and in "
            f"JOBS['worker_modules']; the row was not imported."
        ),
    )


def _transaction_started() -> bool:
    """Whether the current atomic block has sent anything to the database yet."""
    raw = connection.connection
    return raw is not None and raw.info.transaction_status != TransactionStatus.IDLE


def _perform_in_transaction(worker, job, node: str) -> AttemptResult:
    """perform() and the outcome commit together. An exception, an Error, a timeout, a killed
    process or a lost claim rolls perform's database writes back with the attempt.

    A perform that did not touch the database has nothing to commit with its outcome: the
    outcome is then written on its own, in one round trip instead of three."""
    with transaction.atomic():
        result = classify(worker, job, perform(worker, job))
        if result.outcome == Outcome.FAILED:
            raise _RollBack(result)
        wrote = _transaction_started()
        if wrote and not record_outcome(job, node, result, in_transaction=True):
            raise _ClaimLost()
    if not wrote:
        record_outcome(job, node, result)
    return result


def execute_attempt(job, node: str) -> AttemptResult:
    """Run one attempt of a claimed job, record its outcome, then report it (signals, metrics,
    log line: workflows.jobs.telemetry)."""
    began = telemetry.started(job, node)
    result = _run_attempt(job, node)
    telemetry.finished(job, node, result, began)
    return result


def _run_attempt(job, node: str) -> AttemptResult:
    """Run one attempt of a claimed job and record its outcome.

    Workers are transactional by default (Worker.transactional): see _perform_in_transaction.
    A worker that manages its own transactions (long batch work, external side effects it
    must remember at once) sets transactional = False and its writes commit as it makes them.
    """
    worker_class = resolve_worker(job.worker)
    if worker_class is None:
        result = _unknown_worker(job)
        record_outcome(job, node, result)
        return result
    worker = worker_class()
    try:
        if worker_class.transactional:
            return _perform_in_transaction(worker, job, node)
        result = classify(worker, job, perform(worker, job))
    except _RollBack as rolled_back:
        result = rolled_back.result
    except _ClaimLost:
        logger.warning(
            "job %s attempt %s: the job was rescued, released or cancelled while it "
            "ran; its work was rolled back",
            job.pk,
            job.attempt,
        )
        return AttemptResult(None)
    except JobCancelledWhileRunning:
        reset_connections()
        return AttemptResult(Outcome.CANCELLED, recorded=False)
    except (Exception, SystemExit, JobTimeout) as exc:
        if isinstance(exc, SystemExit | JobTimeout):
            reset_connections()
        telemetry.failed_with(exc, job, node)
        result = _failure(worker, job, describe_exception(exc))
    record_outcome(job, node, result)
    return result


def hard_deadline_ms(job, now_ms: int, margin_seconds: float) -> int:
    """When the node kills the attempt's process if perform ignored its soft timeout (0: no
    deadline)."""
    worker_class = resolve_worker(job.worker)
    if worker_class is None:
        return 0
    try:
        timeout = checked_timeout(worker_class(), job)
    except Exception:
        return 0
    if not timeout:
        return 0
    return now_ms + int((timeout + margin_seconds) * 1000)
