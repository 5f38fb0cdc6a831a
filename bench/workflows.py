"""Workflows against plain jobs, side by side: 2,000 three-step chains (6,000 jobs, each
step waiting for the one before) and 6,000 plain jobs, drained by one real `manage.py
qcluster` node, and what releasing dependents costs in statements.

    .venv/bin/python bench/workflows.py [--workflows 2000] [--runs 1] [--concurrency 4]

Method: a fresh node on truncated tables runs warm-up jobs; the timed jobs are inserted in ONE
transaction (insert_all for the plain jobs, one insert_workflow per workflow); t0 = that
commit; the drain ends at max(completed_at). rate = jobs / (end - t0). The statements: with
track_functions = 'pl' on the database, pg_stat_user_functions counts the calls of
jobs_workflow_settle (the trigger, one call per finished step, whose success path is one
UPDATE of the step's dependents); jobs_job row updates per job come from pg_stat_user_tables.
That no step starts before its deps completed is checked by tests/jobs/test_workflows_cluster.py
against each attempt's recorded clock time (attempted_at is the claim transaction's start and
can precede a dep's completion stamp that committed during the claim).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_JOBS_DB", "workflows_bench")
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

DB = common.JOBS_DB
WARMUP_JOBS = 20


def _unfinished(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM jobs_job WHERE state NOT IN ('completed', 'discarded', 'cancelled')"
    ).fetchone()[0]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def _insert(mode: str, count: int) -> float:
    from django.db import transaction

    from bench.workers import NoopWorker
    from workflows.jobs import Workflow, insert_all, insert_workflow

    with transaction.atomic():
        if mode == "plain":
            insert_all([NoopWorker.new({"n": i}) for i in range(count)])
        else:
            for i in range(count):
                insert_workflow(
                    Workflow(f"bench {i}")
                    .add("a", NoopWorker.new({"n": i}))
                    .add("b", NoopWorker.new({"n": i}), deps=["a"])
                    .add("c", NoopWorker.new({"n": i}), deps=["b"])
                )
    return time.time()


def _counters(conn) -> dict:
    row = conn.execute(
        "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'jobs_job'"
    ).fetchone()
    calls = conn.execute(
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions "
        "WHERE funcname = 'jobs_workflow_settle'"
    ).fetchone()
    return {"job_updates": row[0], "settle_calls": int(calls[0])}


def run(mode: str, count: int, concurrency: int) -> dict:
    jobs = count if mode == "plain" else 3 * count
    with common.connect(DB) as conn:
        common.reset_jobs_tables(conn)
        conn.execute("TRUNCATE jobs_workflow RESTART IDENTITY CASCADE")
        conn.execute(f"ALTER DATABASE {DB} SET track_functions = 'pl'")
    cluster = common.engine_cluster(
        DB, JOBS_NODE_CONCURRENCY=str(concurrency), JOBS_WORKER_MODULES="bench.workers"
    ).start()
    try:
        cluster.wait_for_output(" ready:")
        with common.connect(DB) as conn:
            from bench.workers import NoopWorker
            from workflows.jobs import insert_all

            insert_all([NoopWorker.new({"warm": i}) for i in range(WARMUP_JOBS)])
            _wait(lambda: _unfinished(conn) == 0, 60, "warm-up")
            conn.execute("SELECT pg_stat_force_next_flush()")
            time.sleep(1.5)  # other backends' counters reach shared memory at most 1 s late
            conn.execute("SELECT pg_stat_clear_snapshot()")
            before = _counters(conn)
            committed = _insert(mode, jobs if mode == "plain" else count)
            _wait(lambda: _unfinished(conn) == 0, 600, f"{mode} drain")
            end = conn.execute(
                "SELECT extract(epoch FROM max(completed_at)) FROM jobs_job"
            ).fetchone()[0]
            states = dict(conn.execute("SELECT state, count(*) FROM jobs_job GROUP BY state"))
    finally:
        cluster.stop()
    time.sleep(1.5)
    with common.connect(DB) as conn:
        after = _counters(conn)
    cluster.cleanup()
    seconds = float(end) - committed
    return {
        "mode": mode,
        "jobs": jobs,
        "seconds": seconds,
        "rate": jobs / seconds,
        "states": states,
        "settle_calls": after["settle_calls"] - before["settle_calls"],
        "job_updates_per_job": (after["job_updates"] - before["job_updates"]) / jobs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    options = parser.parse_args()
    common.migrate_jobs_database(DB)
    common.setup_django(DB)
    results = []
    for _ in range(options.runs):
        results.append(run("plain", 3 * options.workflows, options.concurrency))
        results.append(run("workflow", options.workflows, options.concurrency))
    with common.connect(DB) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    print(f"database {DB}, one node of concurrency {options.concurrency}, PostgreSQL {server}")
    print(
        f"{'mode':<10}{'jobs':>7}{'seconds':>9}{'jobs/s':>9}{'settle calls':>14}"
        f"{'row updates/job':>17}"
    )
    for r in results:
        print(
            f"{r['mode']:<10}{r['jobs']:>7}{r['seconds']:>9.2f}{r['rate']:>9.0f}"
            f"{r['settle_calls']:>14}{r['job_updates_per_job']:>17.2f}"
        )
        if set(r["states"]) != {"completed"}:
            print(f"  anomaly: states {r['states']}")


if __name__ == "__main__":
    main()
