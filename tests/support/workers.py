"""Workers used by the test suite, importable by real qcluster subprocesses
(JOBS_WORKER_MODULES=tests.support.workers). Each records what it did in a table."""

from __future__ import annotations

import os
import time

from django.db import connection

from workflows.jobs import Discard, Error, Snooze, Worker

INSERT_EXECUTION = (
    "INSERT INTO test_executions (job_id, kind, attempt, pid, queue, started, payload) "
    "VALUES (%s, %s, %s, %s, %s, clock_timestamp(), %s)"
)
_witness: dict[int, object] = {}


def _witness_connection():
    """An autocommit connection of this process, outside any job's transaction."""
    from psycopg.pq import TransactionStatus

    from workflows.jobs.store import database

    conn = _witness.get(os.getpid())
    if (
        conn is not None
        and not conn.closed
        and conn.info.transaction_status != (TransactionStatus.IDLE)
    ):
        conn.close()  # interrupted mid-statement (a cancel, a timeout): start afresh
    if conn is None or conn.closed:
        conn = _witness[os.getpid()] = database.connect()
    return conn


def close_witness() -> None:
    conn = _witness.pop(os.getpid(), None)
    if conn is not None:
        conn.close()


def record(kind: str, job, **extra) -> None:
    """The test's own evidence of what ran, where and when.

    "start" is written at once on its own connection, so it stays even when the attempt's
    transaction rolls back (a crash, a timeout): it witnesses every attempt. "done" is the
    job's effect: written in the job's transaction, it exists only if the attempt committed.
    """
    values = [job.pk, kind, job.attempt, os.getpid(), job.queue, str(extra.get("payload", ""))]
    if kind == "start":
        _witness_connection().execute(INSERT_EXECUTION, values)
        return
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EXECUTION, values)


class RecordingWorker(Worker):
    """Records each execution; sleeps args['sleep'] seconds while counted as running."""

    queue = "default"

    def perform(self, job):
        record("start", job)
        if job.args.get("sleep"):
            time.sleep(job.args["sleep"])
        record("done", job)


class FailingWorker(Worker):
    max_attempts = 3

    def perform(self, job):
        record("start", job)
        raise RuntimeError(f"boom for CPF 529.982.247-25 on attempt {job.attempt}")

    def backoff(self, job):
        return 0


class SnoozeTwiceWorker(Worker):
    max_attempts = 1

    def perform(self, job):
        record("start", job)
        if job.meta.get("snoozed", 0) < 2:
            return Snooze(0)
        return None


class DiscardingWorker(Worker):
    def perform(self, job):
        return Discard("invalid content")


class ErrorReturningWorker(Worker):
    max_attempts = 2

    def perform(self, job):
        return Error("upstream said no")

    def backoff(self, job):
        return 0


class SleepyWorker(Worker):
    """Sleeps past its 2-second timeout on the first attempt only."""

    max_attempts = 3

    def timeout(self, job):
        return 2

    def backoff(self, job):
        return 0

    def perform(self, job):
        record("start", job)
        if job.attempt == 1:
            time.sleep(job.args.get("sleep", 30))
        record("done", job)


class LongFirstAttemptWorker(Worker):
    """Runs long (args['sleep'] s) on its first attempt only; retries at once."""

    max_attempts = 3

    def backoff(self, job):
        return 0

    def perform(self, job):
        record("start", job)
        if job.attempt == 1:
            time.sleep(job.args.get("sleep", 30))
        record("done", job)


class ShortWorker(Worker):
    """A short job (args['ms'] milliseconds) that records its start and its completion."""

    def perform(self, job):
        record("start", job)
        time.sleep(job.args.get("ms", 5) / 1000)
        record("done", job)


class UnwrittenWorker(Worker):
    """Writes nothing in its job's transaction (its evidence goes through the witness
    connection): its completion takes the node's completion ring, not a write of its own."""

    def perform(self, job):
        record("start", job)
        time.sleep(job.args.get("ms", 5) / 1000)
        values = [job.pk, "finished", job.attempt, os.getpid(), job.queue, ""]
        _witness_connection().execute(INSERT_EXECUTION, values)


class PoisonedErrorWorker(Worker):
    """Fails with an error text that jsonb cannot store as it is (a NUL, a lone surrogate)."""

    max_attempts = 2

    def backoff(self, job):
        return 0

    def perform(self, job):
        record("start", job)
        raise RuntimeError("bad byte \x00 and lone surrogate \udcff in the message")


class HugeBackoffWorker(Worker):
    """Asks for a backoff that would overflow PostgreSQL's timestamps."""

    max_attempts = 3

    def backoff(self, job):
        return 2**61

    def perform(self, job):
        record("start", job)
        raise RuntimeError("fails once, retry in the far future")


class HugeSnoozeWorker(Worker):
    """A non-transactional worker snoozing past the end of PostgreSQL's calendar."""

    transactional = False

    def perform(self, job):
        record("start", job)
        return Snooze(2**61)


class SlowQueryWorker(Worker):
    """Non-transactional; runs a query longer than its 1 s timeout (or until cancelled)."""

    transactional = False
    max_attempts = 1

    def timeout(self, job):
        return job.args.get("timeout", 1)

    def perform(self, job):
        record("start", job)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [job.args.get("sleep", 30)])
        record("done", job)


class QueryWorker(Worker):
    """One attempt only: fails if its worker process's database connection is unusable."""

    max_attempts = 1

    def perform(self, job):
        record("start", job)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        record("done", job)
