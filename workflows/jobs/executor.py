"""Running one attempt of a job and recording its outcome.

`execute_claimed` is the function django-q2's worker processes call for every job the broker
hands them. `execute_attempt` is shared with the in-process paths of workflows.jobs.testing
(drain_queue, inline mode), so tests run the real path.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from psycopg.pq import TransactionStatus

from workflows.jobs import database, sql
from workflows.jobs import runtime as node_runtime
from workflows.jobs.conf import jobs_settings
from workflows.jobs.outcomes import (
    Cancel,
    Discard,
    Error,
    JobCancelledWhileRunning,
    JobTimeout,
    Snooze,
)
from workflows.jobs.rows import dumps, job_from_claim
from workflows.jobs.worker import resolve_worker

logger = logging.getLogger("workflows.jobs")

# A job that waited this long between claim and start is checked against the database first:
# the node may have released it meanwhile (see Supervisor.release_stale_prefetch).
START_CHECK_AFTER_SECONDS = 2.0
MAX_ERROR_CHARS = 8000


@dataclass(frozen=True)
class Outcome:
    # completed | retry | discard | cancel | snooze (recorded), or cancelled_while_running |
    # claim_lost (nothing to record: the job is no longer this attempt's)
    kind: str
    delay: float = 0.0
    error: str = ""


def scrub(text: str) -> str:
    path = jobs_settings().error_scrubber
    if not path:
        return text
    return import_string(path)(text)


def describe_exception(exc: BaseException) -> str:
    rendered = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return scrub(rendered.strip())[-MAX_ERROR_CHARS:]


def attempt_key(job, node: str) -> dict[str, Any]:
    """The parameters that identify one claimed attempt (see sql._OWNED)."""
    return {"id": job.pk, "attempt": job.attempt, "node": node, "attempted_at": job.attempted_at}


def error_entry(attempt: int, text: str) -> str:
    return dumps([{"attempt": attempt, "at": timezone.now().isoformat(), "error": text}])


# --- perform with a soft timeout and cancellation ----------------------------------------------

_performing = threading.local()


def _raise_timeout(signum, frame) -> None:
    if getattr(_performing, "active", False):
        _performing.active = False
        raise JobTimeout()


def _raise_cancelled(signum, frame) -> None:
    if getattr(_performing, "active", False):
        _performing.active = False
        raise JobCancelledWhileRunning()


@contextmanager
def _interruptible(timeout_seconds: int | None):
    """SIGALRM stops perform() at its timeout; SIGUSR1 stops it when the job is cancelled.
    Signals only reach the main thread; elsewhere perform runs without a soft timeout."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous_alarm = signal.signal(signal.SIGALRM, _raise_timeout)
        previous_usr1 = signal.signal(signal.SIGUSR1, _raise_cancelled)
        if timeout_seconds:
            signal.setitimer(signal.ITIMER_REAL, timeout_seconds)
    _performing.active = True
    try:
        yield
    finally:
        _performing.active = False
        if in_main_thread:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm)
            signal.signal(signal.SIGUSR1, previous_usr1)


def _checked_timeout(worker, job) -> int | None:
    value = worker.timeout(job)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TypeError(
            f"{type(worker).__name__}.timeout() must return whole seconds >= 1 or None; "
            f"got {value!r}"
        )
    return value


def _failure(worker, job, text: str) -> Outcome:
    if job.attempt >= job.max_attempts:
        return Outcome("discard", error=text)
    try:
        delay = float(worker.backoff(job)) if worker is not None else 0.0
    except Exception as exc:  # a broken backoff must not lose the job: fall back to the default
        from workflows.jobs.backoff import default_backoff

        logger.error(
            "backoff() of %s failed (%s); using the default", job.worker, type(exc).__name__
        )
        delay = float(default_backoff(job.attempt, job.max_attempts))
    return Outcome("retry", delay=max(0.0, delay), error=text)


def classify(worker, job, result: Any) -> Outcome:
    if isinstance(result, Snooze):
        return Outcome("snooze", delay=float(result.seconds))
    if isinstance(result, Discard):
        return Outcome("discard", error=scrub(f"Discarded: {result.reason}"))
    if isinstance(result, Cancel):
        return Outcome("cancel", error=scrub(f"Cancelled: {result.reason}"))
    if isinstance(result, Error):
        return _failure(worker, job, scrub(f"Error: {result.reason}"))
    return Outcome("completed")


def perform(worker, job) -> Any:
    """Call worker.perform(job) under its timeout; exceptions propagate."""
    timeout = _checked_timeout(worker, job)
    try:
        with _interruptible(timeout):
            return worker.perform(job)
    except JobTimeout:
        raise JobTimeout(f"{job.worker} exceeded its timeout of {timeout} s") from None


class _ClaimLost(Exception):
    """The attempt no longer owns its job (rescued, released or cancelled meanwhile)."""


class _RollBack(Exception):
    def __init__(self, outcome: Outcome):
        self.outcome = outcome


def _unknown_worker(job) -> Outcome:
    return Outcome(
        "discard",
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


def _perform_in_transaction(worker, job, node: str) -> Outcome:
    """perform() and the outcome commit together. An exception, an Error, a timeout, a killed
    process or a lost claim rolls perform's database writes back with the attempt.

    A perform that did not touch the database has nothing to commit with its outcome: the
    outcome is then written on its own, in one round trip instead of three."""
    with transaction.atomic():
        outcome = classify(worker, job, perform(worker, job))
        if outcome.kind == "retry":
            raise _RollBack(outcome)
        wrote = _transaction_started()
        if wrote and not record_outcome(job, node, outcome, in_transaction=True):
            raise _ClaimLost()
    if not wrote:
        record_outcome(job, node, outcome)
    return outcome


def execute_attempt(job, node: str) -> Outcome:
    """Run one attempt of a claimed job and record its outcome.

    Workers are transactional by default (Worker.transactional): see _perform_in_transaction.
    A worker that manages its own transactions (long batch work, external side effects it
    must remember at once) sets transactional = False and its writes commit as it makes them.
    """
    worker_class = resolve_worker(job.worker)
    if worker_class is None:
        outcome = _unknown_worker(job)
        record_outcome(job, node, outcome)
        return outcome
    worker = worker_class()
    try:
        if worker_class.transactional:
            return _perform_in_transaction(worker, job, node)
        outcome = classify(worker, job, perform(worker, job))
    except _RollBack as rolled_back:
        outcome = rolled_back.outcome
    except _ClaimLost:
        logger.warning(
            "job %s attempt %s: the job was rescued, released or cancelled while it "
            "ran; its work was rolled back",
            job.pk,
            job.attempt,
        )
        return Outcome("claim_lost")
    except JobCancelledWhileRunning:
        return Outcome("cancelled_while_running")
    except (Exception, SystemExit, JobTimeout) as exc:
        outcome = _failure(worker, job, describe_exception(exc))
    record_outcome(job, node, outcome)
    return outcome


# --- recording outcomes -------------------------------------------------------------------------

_STATEMENTS = {
    "completed": sql.COMPLETE,
    "retry": sql.RETRY_LATER,
    "discard": sql.DISCARD,
    "cancel": sql.CANCEL_FROM_WORKER,
    "snooze": sql.SNOOZE,
}


def record_outcome(job, node: str, outcome: Outcome, *, in_transaction: bool = False) -> bool:
    """Write the outcome if this node still owns the attempt. Returns whether it did.

    Inside the attempt's transaction a database error propagates (and rolls back); outside it,
    the write waits out a database restart."""
    params = {
        **attempt_key(job, node),
        "delay": outcome.delay,
        "error": error_entry(job.attempt, outcome.error) if outcome.error else "[]",
        "commit": "on" if in_transaction else "off",
    }
    statement = _STATEMENTS[outcome.kind]
    if in_transaction:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.rowcount == 1
    owned = _execute_with_reconnect(statement, params) == 1
    if not owned:
        logger.warning(
            "job %s attempt %s: outcome '%s' not recorded; the job was rescued, cancelled or "
            "released while it ran",
            job.pk,
            job.attempt,
            outcome.kind,
        )
    return owned


class _OwnConnection:
    """A node process's own psycopg connection for outcome writes: server-side binding and
    prepared statements, so each statement is parsed once per process instead of once per
    job, and nothing is escaped client-side. Writes that must share perform's transaction
    use Django's connection instead."""

    def __init__(self):
        self._conn = None
        self._pid = None

    def execute(self, statement: str, params: dict) -> int:
        if self._conn is None or self._conn.closed or self._pid != os.getpid():
            self._conn = database.connect()
            self._pid = os.getpid()
        return self._conn.execute(statement, params, prepare=True).rowcount

    def reset(self) -> None:
        if self._pid == os.getpid():
            database.close_quietly(self._conn)
        self._conn = None


_own_connection = _OwnConnection()


def _execute_once(statement: str, params: dict) -> int:
    if node_runtime.current() is not None:
        return _own_connection.execute(statement, params)
    # In-process runs (tests' drain_queue, inline mode) share the caller's transaction.
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _execute_with_reconnect(
    statement: str, params: dict, *, give_up_after: float | None = None
) -> int:
    """Run one write, waiting out a database restart or a killed connection."""
    delay = 0.05
    started = time.monotonic()
    while True:
        try:
            return _execute_once(statement, params)
        except (OperationalError, InterfaceError, *database.CONNECTION_ERRORS) as exc:
            connection.close()
            _own_connection.reset()
            if give_up_after is not None and time.monotonic() - started > give_up_after:
                raise
            logger.warning(
                "database unavailable while recording a job outcome (%s); retrying",
                type(exc).__name__,
            )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def release_unstarted(job, node: str) -> bool:
    rows = _execute_with_reconnect(sql.RELEASE_UNSTARTED, attempt_key(job, node), give_up_after=30)
    return rows == 1


def _still_owned(job, node: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql.IS_STILL_OWNED, attempt_key(job, node))
        return cursor.fetchone() is not None


def _hard_deadline_ms(job) -> int:
    worker_class = resolve_worker(job.worker)
    if worker_class is None:
        return 0
    try:
        timeout = _checked_timeout(worker_class(), job)
    except Exception:
        return 0
    if not timeout:
        return 0
    return node_runtime.now_ms() + int(
        (timeout + jobs_settings().hard_timeout_margin_seconds) * 1000
    )


def execute_claimed(data: dict[str, Any], claim_sent_monotonic: float) -> None:
    """Run one claimed job in a django-q2 worker process. Never raises: every outcome,
    including crashes of the worker's code, is recorded on the job row."""
    runtime = node_runtime.current()
    if runtime is None:  # pragma: no cover - only a misconfigured process gets here
        raise RuntimeError("execute_claimed runs only inside a qcluster node")
    job = job_from_claim(data, runtime.name)
    try:
        if runtime.stopping.is_set() or runtime.paused.is_paused(job.queue):
            release_unstarted(job, runtime.name)
            return
        runtime.registry.enter(job.pk, job.attempt, _hard_deadline_ms(job))
        try:
            waited = time.monotonic() - claim_sent_monotonic
            if waited >= START_CHECK_AFTER_SECONDS and not _still_owned(job, runtime.name):
                return  # released while it waited in the prefetch buffer
            execute_attempt(job, runtime.name)
        finally:
            runtime.registry.leave()
    except Exception:
        logger.exception(
            "job %s: the engine failed around the attempt; the node's supervisor will settle it",
            job.pk,
        )
    finally:
        runtime.wake()
