"""Writing an attempt's outcome on its job row, guarded by the attempt's claim.

An outcome committed with perform's own writes goes through Django's connection (the same
transaction). An outcome on its own goes through the process's own psycopg connection in a
node (server-side binding and, on a direct connection, prepared statements: parsed once per
process, not once per job; `synchronous_commit = off`), or through Django's connection in a
savepoint elsewhere (tests' drain_queue, inline mode).

In a node, a plain completion on its own (perform wrote nothing, records no result) is not
written by the worker at all: it goes to the node's completion ring, and the claiming process
writes the completions of many jobs in one statement (`complete_many`) before its next claim.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from workflows.jobs.policy.outcomes import AttemptResult, Outcome
from workflows.jobs.store import database, sql
from workflows.jobs.store.rows import attempt_key, error_entry, job_from_row

logger = logging.getLogger("workflows.jobs")

# When an outcome cannot be written as computed (a database error on its values), this much
# later the job is retried with a minimal outcome instead.
FALLBACK_RETRY_SECONDS = 60.0


def _statement(result: AttemptResult) -> str:
    if result.outcome == Outcome.FAILED:
        return sql.DISCARD if result.spent else sql.RETRY_LATER
    if result.result_json is not None:
        return sql.COMPLETE_RECORDING_RESULT
    return _STATEMENTS[result.outcome]


_STATEMENTS = {
    Outcome.COMPLETED: sql.COMPLETE,
    Outcome.DISCARDED: sql.DISCARD,
    Outcome.CANCELLED: sql.CANCEL_FROM_WORKER,
    Outcome.SNOOZED: sql.SNOOZE,
}


class _OwnConnection:
    """A node process's own psycopg connection for outcome writes."""

    def __init__(self):
        self._conn = None
        self._pid = None

    def execute(self, statement: str, params: dict) -> int:
        if self._conn is None or self._conn.closed or self._pid != os.getpid():
            self._conn = database.connect()
            self._pid = os.getpid()
        return self._conn.execute(statement, params, prepare=database.prepare_statements()).rowcount

    def reset(self) -> None:
        if self._pid == os.getpid():
            database.close_quietly(self._conn)
        self._conn = None


_own_connection = _OwnConnection()
_use_own_connection = False
# Set by a node: takes a plain completion for the claiming process to write (see
# workflows.jobs.node.completions); returns False when it cannot (write it here then).
_completion_sink: Callable[[Any], bool] | None = None
# Errors of an outcome's values (not of the connection, which is waited out).
_OUTCOME_WRITE_ERRORS = (DatabaseError, psycopg.Error)


def use_own_connection(enabled: bool = True) -> None:
    """Called by a node before it forks its workers: outcomes on their own then go through
    each process's own connection instead of the caller's transaction."""
    global _use_own_connection
    _use_own_connection = enabled


def defer_completions(sink: Callable[[Any], bool] | None) -> None:
    """Called by a node before it forks: plain completions then go to `sink`."""
    global _completion_sink
    _completion_sink = sink


def _execute_once(statement: str, params: dict) -> int:
    if _use_own_connection:
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


def record_outcome(job, node: str, result: AttemptResult, *, in_transaction: bool = False) -> bool:
    """Write the outcome if this node still owns the attempt. Returns whether it did.

    Inside the attempt's transaction a database error propagates (and rolls back); outside it,
    the write waits out a database restart, and an outcome whose values the database refuses
    falls back to a minimal failed attempt."""
    params = {
        **attempt_key(job, node),
        "delay": result.delay,
        "error": error_entry(job.attempt, result.error) if result.error else "[]",
        "commit": "on" if in_transaction else "off",
        "outcome": str(result.outcome),
    }
    if result.result_json is not None:
        params["result"] = result.result_json
    statement = _statement(result)
    deferrable = statement is sql.COMPLETE and not in_transaction and _completion_sink is not None
    if deferrable and _completion_sink(job):
        return True  # written with the next claim; its guard is checked then
    if in_transaction:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.rowcount == 1
    try:
        owned = _execute_with_reconnect(statement, params) == 1
    except _OUTCOME_WRITE_ERRORS as exc:
        owned = _record_fallback(job, node, result, exc)
    if not owned:
        logger.warning(
            "job %s attempt %s: outcome '%s' not recorded; the job was rescued, cancelled or "
            "released while it ran",
            job.pk,
            job.attempt,
            result.outcome,
        )
    return owned


def _record_fallback(job, node: str, result: AttemptResult, exc: BaseException) -> bool:
    """The outcome's own values could not be stored: record a minimal failed attempt instead,
    so the attempt is counted and the job can never loop. If this fails too, the exception
    propagates and the node's supervisor settles the attempt."""
    logger.error(
        "job %s attempt %s: outcome '%s' could not be recorded (%s); recording a failed attempt",
        job.pk,
        job.attempt,
        result.outcome,
        type(exc).__name__,
    )
    text = (
        f"The outcome '{result.outcome}' of this attempt could not be recorded "
        f"({type(exc).__module__}.{type(exc).__qualname__}); the attempt counts as failed."
    )
    spent = job.attempt >= job.max_attempts
    params = {
        **attempt_key(job, node),
        "delay": FALLBACK_RETRY_SECONDS,
        "error": error_entry(job.attempt, text),
        "commit": "off",
        "outcome": str(Outcome.FAILED),
    }
    return _execute_with_reconnect(sql.DISCARD if spent else sql.RETRY_LATER, params) == 1


def complete_many(conn, node: str, attempts: Sequence[tuple[int, int, datetime]]) -> set[int]:
    """Mark completed, in one statement, the attempts (job id, attempt, attempted_at) this node
    still owns; returns the ids completed. An attempt the node no longer owns (rescued,
    cancelled, released meanwhile) is left as it is, exactly as a single completion would."""
    if not attempts:
        return set()
    ordered = sorted(attempts)  # one row order for every writer: no deadlock between batches
    rows = conn.execute(
        sql.COMPLETE_MANY,
        {
            "node": node,
            "ids": [job_id for job_id, _, _ in ordered],
            "attempts": [attempt for _, attempt, _ in ordered],
            "attempted_at": [attempted_at for _, _, attempted_at in ordered],
        },
        prepare=database.prepare_statements(),
    ).fetchall()
    return {job_id for (job_id,) in rows}


def release_unstarted(job, node: str) -> bool:
    """A claimed job that will not start here goes back to available, its attempt uncounted."""
    rows = _execute_with_reconnect(sql.RELEASE_UNSTARTED, attempt_key(job, node), give_up_after=30)
    return rows == 1


def still_owned(job, node: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql.IS_STILL_OWNED, attempt_key(job, node))
        return cursor.fetchone() is not None


# --- in-process claims (tests' drain_queue, inline mode) --------------------------------------
def claim_by_id(job_id: int, node: str):
    """Claim one saved job for this process (inline mode); None if it is not waiting."""
    with connection.cursor() as cursor:
        cursor.execute(sql.CLAIM_BY_ID, {"id": job_id, "node": node})
        row = cursor.fetchone()
    return job_from_row(row) if row else None


def claim_next(queue: str, node: str):
    """Claim the next available job of a queue for this process (drain_queue)."""
    with connection.cursor() as cursor:
        cursor.execute(sql.CLAIM_ONE_FOR_DRAIN, {"queue": queue, "node": node})
        row = cursor.fetchone()
    return job_from_row(row) if row else None


def stage_queue_now(queue: str) -> None:
    """Make a queue's scheduled and retryable jobs available whatever their time (tests)."""
    with connection.cursor() as cursor:
        cursor.execute(sql.STAGE_QUEUE_NOW, [queue])
