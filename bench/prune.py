"""Pruning one million completed jobs older than the 7-day cut-off with the engine's pruner, and
what it does to concurrent inserts and claims.

    .venv/bin/python bench/prune.py [--old 1000000] [--runs 3]

Each run fills the table (one INSERT ... SELECT generate_series): --old completed jobs finished
8-30 days ago, 100,000 completed in the last 6 days (must survive), 10,000 available; then
VACUUM ANALYZE and CHECKPOINT. It runs
`workflows.jobs.store.maintenance.prune_finished_jobs` (batches of 10,000, each its own
transaction, the engine's settings: completed after 7 days) on an autocommit connection from
`workflows.jobs.store.database.connect()`, exactly as the leader's supervisor does, but
without the 10 s time budget, until nothing is left.

Meanwhile: a load thread inserts one job (the engine's INSERT, own transaction), claims with
jobs_claim(node, 4, five queues) and completes what it claimed, every 10 ms, timing each
statement; a sampler looks at pg_stat_activity / pg_locks every 20 ms for sessions of bench_jobs
waiting on a lock. The same load runs for 5 s before the prune as a baseline.
Reported: prune time and rows/s, batches, the longest batch (= the longest time the pruner holds
its row locks), and the load's p50/p99/max latency during the prune vs the baseline.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import JOBS_DB, fmt, median, percentile

QUEUES = ["medical_workflow", "lgpd_analysis", "compliance_check", "email", "default"]
LIMITS = {
    "medical_workflow": 10,
    "lgpd_analysis": 5,
    "compliance_check": 3,
    "email": 5,
    "default": 10,
}

FILL = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, attempted_at, attempted_by, completed_at,
                      inserted_at, uniq_states)
SELECT %(state)s, (ARRAY['medical_workflow', 'lgpd_analysis', 'compliance_check', 'email',
                         'default'])[1 + g %% 5],
       'bench.workers.NoopWorker', jsonb_build_object('n', g), '{}'::jsonb, '{}', '[]'::jsonb,
       %(attempt)s, 20, 0, t.at, CASE WHEN %(done)s THEN t.at END,
       CASE WHEN %(done)s THEN ARRAY['old-node'] END, CASE WHEN %(done)s THEN t.at END,
       t.at - interval '1 second', 0
  FROM generate_series(1, %(n)s) AS g
 CROSS JOIN LATERAL (SELECT now() - make_interval(
       secs => %(min_age)s + ((g::bigint * 7919) %% %(spread)s))) AS t(at)
"""


def fill(conn, old: int) -> float:
    started = time.monotonic()
    common.reset_jobs_tables(conn)
    for name, limit in LIMITS.items():
        conn.execute(
            'INSERT INTO jobs_queue (name, "limit", configured_limit, paused, updated_at) '
            "VALUES (%s, %s, %s, false, now())",
            [name, limit, limit],
        )
    day = 86400
    conn.execute(
        FILL,
        {
            "state": "completed",
            "attempt": 1,
            "done": True,
            "n": old,
            "min_age": 8 * day,
            "spread": 22 * day,
        },
    )
    conn.execute(
        FILL,
        {
            "state": "completed",
            "attempt": 1,
            "done": True,
            "n": 100_000,
            "min_age": 60,
            "spread": 6 * day,
        },
    )
    conn.execute(
        FILL,
        {
            "state": "available",
            "attempt": 0,
            "done": False,
            "n": 10_000,
            "min_age": 1,
            "spread": 3600,
        },
    )
    conn.execute("VACUUM ANALYZE jobs_job")
    conn.execute("CHECKPOINT")
    return time.monotonic() - started


class Load(threading.Thread):
    """Insert, claim and complete jobs on their own connection, timing each statement."""

    def __init__(self):
        super().__init__(daemon=True)
        from workflows.jobs.store import sql

        self.insert_sql = sql.INSERT_ONE.format(on_conflict="")
        self.stop_event = threading.Event()
        self.phase = "baseline"
        self.timings: dict[str, dict[str, list[float]]] = {}
        self.error: BaseException | None = None

    def record(self, op: str, ms: float) -> None:
        self.timings.setdefault(self.phase, {}).setdefault(op, []).append(ms)

    def run(self) -> None:
        try:
            with common.connect(JOBS_DB) as conn:
                import psycopg

                conn.cursor_factory = psycopg.ClientCursor  # as Django binds (NULL params)
                k = 0
                while not self.stop_event.is_set():
                    k += 1
                    t = time.perf_counter()
                    conn.execute(
                        self.insert_sql,
                        {
                            "queue": QUEUES[k % 5],
                            "worker": "bench.workers.NoopWorker",
                            "args": '{"n": 0}',
                            "meta": "{}",
                            "tags": [],
                            "max_attempts": 20,
                            "priority": 0,
                            "scheduled_at": None,
                            "uniq_key": None,
                            "uniq_period": None,
                            "uniq_states": 0,
                        },
                    )
                    self.record("insert", (time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    (result,) = conn.execute(
                        "SELECT jobs_claim(%s, %s, %s::text[], %s)",
                        ["bench-prune-node", 4, QUEUES, k],
                    ).fetchone()
                    self.record("claim", (time.perf_counter() - t) * 1000)
                    ids = [job["id"] for job in result["jobs"]]
                    t = time.perf_counter()
                    conn.execute(
                        "UPDATE jobs_job SET state = 'completed', completed_at = now() "
                        "WHERE id = ANY(%s)",
                        [ids],
                    )
                    self.record("complete", (time.perf_counter() - t) * 1000)
                    self.stop_event.wait(0.01)
        except BaseException as exc:  # reported by the main thread
            self.error = exc


class LockSampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.samples = 0
        self.waiting_samples = 0
        self.max_wait_seconds = 0.0
        self.wait_events: dict[str, int] = {}

    def run(self) -> None:
        with common.connect(JOBS_DB) as conn:
            while not self.stop_event.is_set():
                rows = conn.execute(
                    "SELECT a.wait_event, extract(epoch FROM clock_timestamp() - a.state_change)"
                    "  FROM pg_stat_activity a"
                    " WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'"
                    "   AND a.pid <> pg_backend_pid()"
                ).fetchall()
                self.samples += 1
                if rows:
                    self.waiting_samples += 1
                    for event, seconds in rows:
                        self.wait_events[event] = self.wait_events.get(event, 0) + 1
                        self.max_wait_seconds = max(self.max_wait_seconds, float(seconds))
                self.stop_event.wait(0.02)


def one_run(old: int, batch: int) -> dict:
    from workflows.jobs.conf import jobs_settings
    from workflows.jobs.store import database
    from workflows.jobs.store.maintenance import prune_finished_jobs

    with common.connect(JOBS_DB) as conn:
        fill_seconds = fill(conn, old)
        load, sampler = Load(), LockSampler()
        load.start()
        time.sleep(5.0)
        load.phase = "prune"
        sampler.start()
        prune_conn = database.connect()
        started = time.monotonic()
        report = prune_finished_jobs(prune_conn, jobs_settings(), batch_size=batch)
        seconds = time.monotonic() - started
        prune_conn.close()
        load.phase = "after"
        time.sleep(0.5)
        load.stop_event.set()
        sampler.stop_event.set()
        load.join()
        sampler.join()
        if load.error:
            raise load.error
        left_old = conn.execute(
            "SELECT count(*) FROM jobs_job WHERE state = 'completed' "
            "AND completed_at < now() - interval '7 days'"
        ).fetchone()[0]
        recent = conn.execute(
            "SELECT count(*) FROM jobs_job WHERE state = 'completed' "
            "AND completed_at >= now() - interval '7 days'"
        ).fetchone()[0]
    return {
        "fill_seconds": fill_seconds,
        "seconds": seconds,
        "deleted": report.deleted,
        "total": report.total,
        "batches": report.batches,
        "longest_batch_seconds": report.longest_batch_seconds,
        "left_old": left_old,
        "recent_left": recent,
        "timings": load.timings,
        "lock_samples": sampler.samples,
        "lock_waiting_samples": sampler.waiting_samples,
        "lock_max_wait_seconds": sampler.max_wait_seconds,
        "lock_wait_events": sampler.wait_events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(JOBS_DB)
    common.setup_django(JOBS_DB)

    runs = []
    for run in range(args.runs):
        r = one_run(args.old, args.batch)
        runs.append(r)
        print(
            f"  run {run + 1}: pruned {r['total']:,} in {r['seconds']:.1f} s "
            f"({r['total'] / r['seconds']:,.0f} rows/s), {r['batches']} batches, longest "
            f"batch {r['longest_batch_seconds'] * 1000:.0f} ms; old left {r['left_old']}, "
            f"recent kept {r['recent_left']:,}; lock waits seen in "
            f"{r['lock_waiting_samples']}/{r['lock_samples']} samples",
            flush=True,
        )
        with common.connect(JOBS_DB) as conn:
            common.reset_jobs_tables(conn)

    print()
    print(
        f"Prune of {args.old:,} completed jobs older than 7 days, batches of {args.batch:,}, "
        f"medians of {args.runs} runs:"
    )
    rows = [
        ["time to prune", f"{median([r['seconds'] for r in runs]):.1f} s"],
        ["rows deleted per second", fmt(median([r["total"] / r["seconds"] for r in runs]))],
        ["batches (transactions)", fmt(median([r["batches"] for r in runs]))],
        [
            "longest batch = longest lock held",
            f"{median([r['longest_batch_seconds'] for r in runs]) * 1000:.0f} ms (max over runs "
            f"{max(r['longest_batch_seconds'] for r in runs) * 1000:.0f} ms)",
        ],
        [
            "old completed rows left / recent rows kept",
            f"{max(r['left_old'] for r in runs)} / {min(r['recent_left'] for r in runs):,}",
        ],
        [
            "samples with a session waiting on a lock",
            f"{sum(r['lock_waiting_samples'] for r in runs)} of "
            f"{sum(r['lock_samples'] for r in runs)} (every 20 ms); longest wait seen "
            f"{max(r['lock_max_wait_seconds'] for r in runs) * 1000:.0f} ms",
        ],
    ]
    print(common.table(["figure", "value"], rows))

    print("\nConcurrent load (insert / claim / complete every 10 ms), ms, all runs pooled:")
    load_rows = []
    for op in ("insert", "claim", "complete"):
        for phase in ("baseline", "prune"):
            values = [x for r in runs for x in r["timings"].get(phase, {}).get(op, [])]
            load_rows.append(
                [
                    op,
                    phase,
                    len(values),
                    fmt(percentile(values, 0.5), 2),
                    fmt(percentile(values, 0.99), 2),
                    fmt(max(values), 1) if values else "n/a",
                ]
            )
    print(common.table(["statement", "phase", "n", "p50", "p99", "max"], load_rows))
    path = common.save(
        "prune",
        {
            "machine": info,
            "args": vars(args),
            "runs": [
                {k: v for k, v in r.items() if k != "timings"}
                | {
                    "load": {
                        phase: {
                            op: {
                                "n": len(v),
                                "p50": percentile(v, 0.5),
                                "p99": percentile(v, 0.99),
                                "max": max(v),
                            }
                            for op, v in ops.items()
                        }
                        for phase, ops in r["timings"].items()
                    }
                }
                for r in runs
            ],
        },
    )
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
