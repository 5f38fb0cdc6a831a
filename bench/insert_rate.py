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


def breakdown(n: int, runs: int, conn) -> dict:
    """Where insert_all()'s time goes: the engine's own steps, called in order and timed."""
    from django.db import connection, transaction

    from bench.workers import NoopWorker
    from workflows.jobs.api import jobs as engine
    from workflows.jobs.store import jobs as store_jobs
    from workflows.jobs.store import sql

    phases: dict[str, list[float]] = {}
    for _ in range(runs):
        common.reset_jobs_tables(conn)
        jobs = [NoopWorker.new({"n": i}) for i in range(n)]
        with transaction.atomic(), connection.cursor() as cursor:
            t0 = time.perf_counter()
            prepared = [engine._prepared(job) for job in jobs]
            t1 = time.perf_counter()
            store_jobs.copy_batch(cursor.cursor, prepared)
            t2 = time.perf_counter()
            cursor.cursor.execute(sql.INSERT_MANY)
            t3 = time.perf_counter()
            rows = cursor.cursor.fetchall()
            t4 = time.perf_counter()
            for job, params, row in zip(jobs, prepared, rows, strict=True):
                store_jobs.saved_in_place(job, params, row)
            t5 = time.perf_counter()
        t6 = time.perf_counter()
        for name, seconds in (
            ("_prepared(): options checked, captured args/meta reused", t1 - t0),
            ("copy_batch(): COPY into the staging table", t2 - t1),
            ("execute INSERT_MANY (insert, indexes, NOTIFY)", t3 - t2),
            ("fetchall RETURNING id, state, key, window, 2 epochs", t4 - t3),
            ("saved_in_place() x n (ids onto the given Jobs)", t5 - t4),
            ("COMMIT", t6 - t5),
        ):
            phases.setdefault(name, []).append(seconds * 1000)
    return {"phases_ms": {k: median(v) for k, v in phases.items()}}


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
