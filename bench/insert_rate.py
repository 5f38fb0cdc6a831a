"""Insert rate of the engine's API, in-process (Django set up against bench_jobs, no node running).

    .venv/bin/python bench/insert_rate.py [--single 2000] [--batch 10000] [--runs 5]

- insert(): one job per transaction (`with transaction.atomic(): insert(NoopWorker.new(...))`),
  --single jobs per run; jobs/s and per-insert latency.
- insert_all(): --batch jobs in one transaction; jobs/s of the insert_all() call alone (the jobs
  built by Worker.new() beforehand) and end to end (building included). Target >= 20,000 jobs/s.
The table is truncated before each run. Medians of --runs runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import JOBS_DB, fmt, median, percentile

WHATIF_INSERT = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, inserted_at, uniq_key, uniq_window, uniq_states)
SELECT CASE WHEN coalesce(t.scheduled_at, now()) > now() THEN 'scheduled' ELSE 'available' END,
       t.queue, t.worker, t.args, t.meta, t.tags, '[]'::jsonb, 0, t.max_attempts,
       t.priority, coalesce(t.scheduled_at, now()), now(), t.uniq_key,
       CASE WHEN t.uniq_key IS NULL THEN NULL
            ELSE tstzrange(now(), now() + make_interval(secs => t.uniq_period)) END,
       t.uniq_states
  FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (
         queue text, worker text, args jsonb, meta jsonb, tags text[], max_attempts int,
         priority smallint, scheduled_at timestamptz, uniq_key text, uniq_period float8,
         uniq_states smallint)) WITH ORDINALITY AS t
 ORDER BY t.ordinality
ON CONFLICT DO NOTHING
RETURNING id, uniq_key
"""


def breakdown(n: int, runs: int, conn) -> dict:
    """Where insert_all()'s time goes (phases timed by calling the engine's own steps in
    order), and a what-if: the same rows sent as ONE jsonb parameter (jsonb_to_recordset) with
    RETURNING id, uniq_key only, the ids set on the Job objects already built."""
    import json

    from django.db import connection, transaction

    from bench.workers import NoopWorker
    from workflows.jobs import engine, sql
    from workflows.jobs.conf import jobs_settings
    from workflows.jobs.rows import job_from_row

    phases: dict[str, list[float]] = {}
    whatif = []
    for _ in range(runs):
        common.reset_jobs_tables(conn)
        jobs = [NoopWorker.new({"n": i}) for i in range(n)]
        t0 = time.perf_counter()
        prepared = [engine._prepared(job) for job in jobs]
        keys = (
            "queue",
            "worker",
            "args",
            "meta",
            "tags_json",
            "max_attempts",
            "priority",
            "scheduled_at",
            "uniq_key",
            "uniq_period",
            "uniq_states",
        )
        columns = [[p[k] for p in prepared] for k in keys]
        t1 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql.INSERT_MANY, columns)
            t2 = time.perf_counter()
            rows = cursor.fetchall()
            t3 = time.perf_counter()
            [job_from_row(row) for row in rows]
            t4 = time.perf_counter()
        t5 = time.perf_counter()
        t6 = time.perf_counter()
        for _ in range(n):
            jobs_settings()
        t7 = time.perf_counter()
        for name, seconds in (
            ("_prepared() (validation again, json dumps)", t1 - t0),
            ("execute INSERT_MANY (adapt arrays, send, server)", t2 - t1),
            ("fetchall RETURNING 21 columns", t3 - t2),
            ("job_from_row() x n (model instances)", t4 - t3),
            ("COMMIT", t5 - t4),
            (f"(jobs_settings() alone, x{n}: called 3x per job)", t7 - t6),
        ):
            phases.setdefault(name, []).append(seconds * 1000)

        common.reset_jobs_tables(conn)
        jobs = [NoopWorker.new({"n": i}) for i in range(n)]
        t0 = time.perf_counter()
        document = json.dumps(
            [
                {
                    "queue": j.queue,
                    "worker": j.worker,
                    "args": j.args,
                    "meta": j.meta,
                    "tags": j.tags,
                    "max_attempts": j.max_attempts,
                    "priority": j.priority,
                    "scheduled_at": None,
                    "uniq_key": None,
                    "uniq_period": None,
                    "uniq_states": 0,
                }
                for j in jobs
            ]
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(WHATIF_INSERT, [document])
            for job, (pk, _) in zip(jobs, cursor.fetchall(), strict=True):
                job.pk = pk
        whatif.append(n / (time.perf_counter() - t0))
    return {"phases_ms": {k: median(v) for k, v in phases.items()}, "whatif_jobs_per_s": whatif}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-breakdown", action="store_true")
    args = parser.parse_args()

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(JOBS_DB)
    common.setup_django(JOBS_DB)
    from django.db import transaction

    from bench.workers import NoopWorker
    from workflows.jobs import insert, insert_all

    single, single_lat, batch_call, batch_total = [], [], [], []
    with common.connect(JOBS_DB) as conn:
        for run in range(args.runs):
            common.reset_jobs_tables(conn)
            latencies = []
            started = time.perf_counter()
            for i in range(args.single):
                t = time.perf_counter()
                with transaction.atomic():
                    insert(NoopWorker.new({"n": i}))
                latencies.append((time.perf_counter() - t) * 1000)
            single.append(args.single / (time.perf_counter() - started))
            single_lat.extend(latencies)

            common.reset_jobs_tables(conn)
            t0 = time.perf_counter()
            jobs = [NoopWorker.new({"n": i}) for i in range(args.batch)]
            t1 = time.perf_counter()
            with transaction.atomic():
                saved = insert_all(jobs)
            t2 = time.perf_counter()
            assert len(saved) == args.batch
            count = conn.execute("SELECT count(*) FROM jobs_job").fetchone()[0]
            assert count == args.batch, count
            batch_call.append(args.batch / (t2 - t1))
            batch_total.append(args.batch / (t2 - t0))
            print(
                f"  run {run + 1}: insert {fmt(single[-1])} jobs/s; insert_all "
                f"{fmt(batch_call[-1])} jobs/s (with Worker.new: {fmt(batch_total[-1])})",
                flush=True,
            )
        detail = None if args.no_breakdown else breakdown(args.batch, args.runs, conn)
        common.reset_jobs_tables(conn)

    print()
    print(f"Insert rate, medians of {args.runs} runs:")
    target = median(batch_call)
    rows = [
        [
            f"insert(), 1 job per transaction ({args.single:,} per run)",
            fmt(median(single)),
            f"p50 {percentile(single_lat, 0.5):.2f} ms, p99 {percentile(single_lat, 0.99):.2f} ms "
            "per insert+commit",
            "",
        ],
        [
            f"insert_all() of {args.batch:,} in one transaction",
            fmt(target),
            ", ".join(fmt(x) for x in batch_call),
            ">= 20,000: " + ("met" if target >= 20_000 else "MISSED"),
        ],
        [
            f"Worker.new() x {args.batch:,} + insert_all()",
            fmt(median(batch_total)),
            ", ".join(fmt(x) for x in batch_total),
            "",
        ],
    ]
    print(common.table(["operation", "jobs/s", "detail", "target"], rows))
    if detail:
        print(f"\nWhere insert_all({args.batch:,}) spends its time (medians, ms):")
        print(
            common.table(["phase", "ms"], [[k, fmt(v, 1)] for k, v in detail["phases_ms"].items()])
        )
        print(
            f"\nwhat-if (not the engine's code): one jsonb parameter + jsonb_to_recordset, "
            f"RETURNING id, uniq_key, ids set on the built Jobs, no re-validation: "
            f"{fmt(median(detail['whatif_jobs_per_s']))} jobs/s "
            f"({', '.join(fmt(x) for x in detail['whatif_jobs_per_s'])})"
        )
    path = common.save(
        "insert_rate",
        {
            "breakdown": detail,
            "machine": info,
            "args": vars(args),
            "single_jobs_per_s": single,
            "single_latency_ms": {
                "p50": percentile(single_lat, 0.5),
                "p99": percentile(single_lat, 0.99),
            },
            "insert_all_jobs_per_s": batch_call,
            "insert_all_with_new_jobs_per_s": batch_total,
            "medians": {
                "single": median(single),
                "insert_all": target,
                "insert_all_with_new": median(batch_total),
            },
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
