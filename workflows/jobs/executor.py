"""Running one attempt of a job and recording its outcome.

`execute_claimed` is the function django-q2's worker processes call for every job the broker
hands them. `execute_attempt` is shared with the in-process paths of workflows.jobs.testing
(drain_queue, inline mode), so tests run the real path.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
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

# A job that waited this long (local monotonic clock) between claim and start is checked
# against the database first: the node may have been frozen and declared dead meanwhile, and
# its claims rescued elsewhere. Revocations by this node itself go through the claim ring.
START_CHECK_AFTER_MS = 2000
MAX_ERROR_CHARS = 8000
# Backoff and snooze delays are clamped to this, so no delay can overflow a timestamp.
MAX_DELAY_SECONDS = 10 * 365 * 86400.0
# When an outcome cannot be written as computed (a database error on its values), this much
# later the job is retried with a minimal outcome instead.
FALLBACK_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Outcome:
    # completed | retry | discard | cancel | snooze (recorded), or cancelled_while_running |
    # claim_lost (nothing to record: the job is no longer this attempt's)
    kind: str
    delay: float = 0.0
    error: str = ""


def storable_text(text: str) -> str:
    """Text that PostgreSQL's jsonb accepts: no NUL, no lone surrogates, bounded size."""
    text = text.replace("\x00", "\\x00")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[-MAX_ERROR_CHARS:]


def scrub(text: str) -> str:
    """Mask patient data with JOBS['error_scrubber'], then make the text storable."""
    path = jobs_settings().error_scrubber
    if path:
        text = import_string(path)(storable_text(text))
    return storable_text(text)


def clamp_delay(seconds: Any) -> float:
    """A delay in seconds that PostgreSQL can add to now(): finite, 0..MAX_DELAY_SECONDS."""
    try:
        value = float(seconds)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if math.isnan(value):
        return 0.0
    return min(max(value, 0.0), MAX_DELAY_SECONDS)


def describe_exception(exc: BaseException) -> str:
    try:
        rendered = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:  # an exception whose __str__ raises still gets an entry
        rendered = (
            f"{type(exc).__module__}.{type(exc).__qualname__} (its message could not be read)"
        )
    return scrub(rendered.strip())


def attempt_key(job, node: str) -> dict[str, Any]:
    """The parameters that identify one claimed attempt (see sql._OWNED)."""
    return {"id": job.pk, "attempt": job.attempt, "node": node, "attempted_at": job.attempted_at}


def error_entry(attempt: int, text: str) -> str:
    return dumps([{"attempt": attempt, "at": timezone.now().isoformat(), "error": text}])


# --- perform with a soft timeout and cancellation ----------------------------------------------

_performing = threading.local()


def on_engine_signal(signum: int) -> None:
    """SIGALRM and SIGUSR1 in a node's processes (and in perform_job/drain_queue): they
    interrupt perform() only, and SIGUSR1 only the job the supervisor asked to stop.
    Anywhere else they are ignored, so a signal can never kill a process between jobs."""
    if not getattr(_performing, "active", False):
        return
    if signum == signal.SIGALRM:
        _performing.active = False
        raise JobTimeout()
    if signum == signal.SIGUSR1:
        runtime = node_runtime.current()
        job_id = getattr(_performing, "job_id", None)
        if runtime is not None and not runtime.registry.cancel_requested(job_id):
            return  # meant for a job this process no longer runs
        _performing.active = False
        raise JobCancelledWhileRunning()


def _raise_timeout(signum, frame) -> None:
    on_engine_signal(signum)


def _raise_cancelled(signum, frame) -> None:
    on_engine_signal(signum)


@contextmanager
def _interruptible(timeout_seconds: int | None, job_id: int | None = None):
    """SIGALRM stops perform() at its timeout; SIGUSR1 stops it when the job is cancelled.
    Signals only reach the main thread; elsewhere perform runs without a soft timeout."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous_alarm = signal.signal(signal.SIGALRM, _raise_timeout)
        previous_usr1 = signal.signal(signal.SIGUSR1, _raise_cancelled)
        if timeout_seconds:
            signal.setitimer(signal.ITIMER_REAL, timeout_seconds)
    _performing.job_id = job_id
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
    return Outcome("retry", delay=clamp_delay(delay), error=text)


def classify(worker, job, result: Any) -> Outcome:
    if isinstance(result, Snooze):
        return Outcome("snooze", delay=clamp_delay(result.seconds))
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
        with _interruptible(timeout, job.pk):
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
        reset_connections()
        return Outcome("cancelled_while_running")
    except (Exception, SystemExit, JobTimeout) as exc:
        if isinstance(exc, SystemExit | JobTimeout):
            reset_connections()
        outcome = _failure(worker, job, describe_exception(exc))
    record_outcome(job, node, outcome)
    return outcome


def reset_connections() -> None:
    """After perform was interrupted (timeout, cancel) a connection may be left mid-query:
    psycopg cleans up only after KeyboardInterrupt or SystemExit, and the server would run
    the statement on (holding its locks) after the client went away. Cancel what is still
    running, then close Django's connections of this thread; they reconnect on first use."""
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is not None and not raw.closed:
            if raw.info.transaction_status == TransactionStatus.ACTIVE:
                with contextlib.suppress(Exception):
                    raw.cancel_safe(timeout=2.0)
        try:
            conn.close()
        except Exception:  # a broken connection is dropped all the same
            conn.connection = None


def _connections_dirty() -> bool:
    """Whether a Django connection of this thread was left inside a transaction or a query
    (a non-transactional worker that did not commit, an interrupted statement)."""
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if (
            raw is not None
            and not raw.closed
            and (raw.info.transaction_status != TransactionStatus.IDLE or conn.in_atomic_block)
        ):
            return True
    return False


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
    try:
        owned = _execute_with_reconnect(statement, params) == 1
    except _OUTCOME_WRITE_ERRORS as exc:
        owned = _record_fallback(job, node, outcome, exc)
    if not owned:
        logger.warning(
            "job %s attempt %s: outcome '%s' not recorded; the job was rescued, cancelled or "
            "released while it ran",
            job.pk,
            job.attempt,
            outcome.kind,
        )
    return owned


def _record_fallback(job, node: str, outcome: Outcome, exc: BaseException) -> bool:
    """The outcome's own values could not be stored: record a minimal failed attempt instead,
    so the attempt is counted and the job can never loop. If this fails too, the exception
    propagates and the node's supervisor settles the attempt (see execute_claimed)."""
    logger.error(
        "job %s attempt %s: outcome '%s' could not be recorded (%s); recording a failed attempt",
        job.pk,
        job.attempt,
        outcome.kind,
        type(exc).__name__,
    )
    text = (
        f"The outcome '{outcome.kind}' of this attempt could not be recorded "
        f"({type(exc).__module__}.{type(exc).__qualname__}); the attempt counts as failed."
    )
    spent = job.attempt >= job.max_attempts
    params = {
        **attempt_key(job, node),
        "delay": FALLBACK_RETRY_SECONDS,
        "error": error_entry(job.attempt, text),
        "commit": "off",
    }
    return _execute_with_reconnect(sql.DISCARD if spent else sql.RETRY_LATER, params) == 1


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
# Errors of an outcome's values (not of the connection, which is waited out).
_OUTCOME_WRITE_ERRORS = (DatabaseError, psycopg.Error)


def _execute_once(statement: str, params: dict) -> int:
    if node_runtime.current() is not None:
        return _own_connection.execute(statement, params)
    # In-process runs (tests' drain_queue, inline mode) share the caller's transaction; a
    # savepoint keeps a refused write from aborting it, so the fallback outcome can follow.
    with transaction.atomic(), connection.cursor() as cursor:
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


def execute_claimed(data: dict[str, Any]) -> None:
    """Run one claimed job in a django-q2 worker process. Never raises: every outcome,
    including crashes of the worker's code, is recorded on the job row; an attempt whose
    outcome could not be recorded at all is left to the node's supervisor, which settles it
    as a failed attempt (so no job can loop without counting its attempts)."""
    runtime = node_runtime.current()
    if runtime is None:  # pragma: no cover - only a misconfigured process gets here
        raise RuntimeError("execute_claimed runs only inside a qcluster node")
    job = job_from_claim(data, runtime.name)
    try:
        if runtime.stopping.is_set() or runtime.paused.is_paused(job.queue):
            runtime.registry.forget_claim(
                job.pk, job.attempt, node_runtime.epoch_us(job.attempted_at)
            )
            release_unstarted(job, runtime.name)
            return
        decision = runtime.registry.start(
            job.pk,
            job.attempt,
            node_runtime.epoch_us(job.attempted_at),
            _hard_deadline_ms(job),
            check_after_ms=START_CHECK_AFTER_MS,
        )
        if decision == node_runtime.StartDecision.SKIP:
            return  # revoked (released, cancelled, rescued) before any worker started it
        attempted = settled = False
        try:
            if decision == node_runtime.StartDecision.CHECK and not _still_owned(job, runtime.name):
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
        if _connections_dirty():
            reset_connections()
        runtime.wake()
