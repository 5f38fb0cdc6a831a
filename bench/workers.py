"""No-op workers the benchmarks run. Loaded by benchmark qcluster subprocesses through
JOBS_WORKER_MODULES=bench.workers. Their jobs carry synthetic args only (a sequence number at
most), and nothing here prints or logs args."""

from __future__ import annotations

import os
import time

from django.db import connection

from workflows.jobs import Worker

LATENCY_TABLE = """
CREATE TABLE IF NOT EXISTS bench_latency (
  job_id bigint NOT NULL, perform_started double precision NOT NULL, pid int NOT NULL
)
"""


EXECUTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS bench_executions (job_id bigint NOT NULL, attempt int NOT NULL,
                                             pid int NOT NULL)
"""


class NoopWorker(Worker):
    """Does nothing: what is measured is the engine's own cost per job."""

    queue = "default"

    def perform(self, job):
        return None


class LatencyWorker(Worker):
    """Records the wall-clock time (time.time(), the same clock the benchmark reads) at which
    perform started, so the benchmark can compute insert-commit -> perform-start latency."""

    queue = "default"

    def perform(self, job):
        started = time.time()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_latency (job_id, perform_started, pid) VALUES (%s, %s, %s)",
                [job.pk, started, os.getpid()],
            )
        return None


class CountingWorker(Worker):
    """A no-op that records each execution (bench/throughput.py --verify): to check that every
    job ran exactly once under load. Not used for the timed figures (it adds a write per job)."""

    queue = "default"

    def perform(self, job):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_executions (job_id, attempt, pid) VALUES (%s, %s, %s)",
                [job.pk, job.attempt, os.getpid()],
            )
        return None
