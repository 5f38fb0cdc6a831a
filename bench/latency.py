"""Pickup latency of an idle node: insert commit -> perform start.

    .venv/bin/python bench/latency.py [--jobs 300] [--runs 3]

A real `manage.py qcluster` with default settings is started and left idle. Then, one at a time,
a LatencyWorker job is inserted in its own transaction; the benchmark notes time.time() right
after the commit returned (and right before it was sent); the worker notes time.time() when
perform() starts and writes it to bench_latency. The next job is inserted only after the previous
one has started and a further pause (--pause, default 0.15-0.25 s) so the node is idle again
(its claimer asleep on LISTEN). Latency = perform start - commit returned. Targets: median
< 20 ms, p99 < 100 ms. Each run starts a fresh cluster; medians over runs and pooled figures.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import JOBS_DB, fmt, median, percentile


def one_run(n: int, pause: float, jitter: float, conn) -> dict:
    from django.db import transaction

    from bench.workers import LatencyWorker
    from workflows.jobs import insert

    common.reset_jobs_tables(conn)
    conn.execute("TRUNCATE bench_latency")
    cluster = common.engine_cluster(JOBS_DB).start()
    samples, commit_ms, before_ms = [], [], []
    try:
        cluster.wait_for_output(" ready:")
        time.sleep(1.0)

        def started_at(job_id: int, timeout: float = 30.0) -> float:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT perform_started FROM bench_latency WHERE job_id = %s", [job_id]
                ).fetchone()
                if row:
                    return row[0]
                time.sleep(0.002)
            raise TimeoutError(f"job {job_id} did not start within {timeout} s")

        warmup = 12  # every worker process opens its database connection on its first job
        for i in range(warmup + n):
            with transaction.atomic():
                job = insert(LatencyWorker.new({"n": i}))
                before_commit = time.time()
            committed = time.time()
            perform_started = started_at(job.pk)
            if i >= warmup:
                samples.append((perform_started - committed) * 1000)
                before_ms.append((perform_started - before_commit) * 1000)
                commit_ms.append((committed - before_commit) * 1000)
            time.sleep(pause + random.uniform(0, jitter))
        time.sleep(0.5)
        per_job = conn.execute(
            "SELECT count(*) FILTER (WHERE c > 1), count(*) FROM "
            "(SELECT job_id, count(*) AS c FROM bench_latency GROUP BY job_id) t"
        ).fetchone()
        states = dict(conn.execute("SELECT state, count(*) FROM jobs_job GROUP BY state"))
    finally:
        cluster.stop()
    result = {
        "latency_ms": samples,
        "from_before_commit_ms": before_ms,
        "commit_ms": commit_ms,
        "jobs_run_more_than_once": per_job[0],
        "jobs_recorded": per_job[1],
        "states": states,
        "stopped_cleanly": cluster.stopped_cleanly,
        "stop_seconds": cluster.stop_seconds,
    }
    cluster.cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.15)
    parser.add_argument("--jitter", type=float, default=0.10)
    args = parser.parse_args()

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(JOBS_DB)
    common.setup_django(JOBS_DB)
    from bench.workers import LATENCY_TABLE

    runs = []
    with common.connect(JOBS_DB) as conn:
        conn.execute(LATENCY_TABLE)
        for run in range(args.runs):
            r = one_run(args.jobs, args.pause, args.jitter, conn)
            runs.append(r)
            lat = r["latency_ms"]
            print(
                f"  run {run + 1}: median {median(lat):.1f} ms, p99 {percentile(lat, 0.99):.1f} "
                f"ms, max {max(lat):.1f} ms over {len(lat)} jobs; run twice: "
                f"{r['jobs_run_more_than_once']}",
                flush=True,
            )

    pooled = [x for r in runs for x in r["latency_ms"]]
    pooled_before = [x for r in runs for x in r["from_before_commit_ms"]]
    commits = [x for r in runs for x in r["commit_ms"]]
    med = median([median(r["latency_ms"]) for r in runs])
    p99 = median([percentile(r["latency_ms"], 0.99) for r in runs])
    print()
    print(
        f"Insert commit -> perform start, idle node with default settings, {args.runs} runs x "
        f"{args.jobs} jobs:"
    )
    rows = [
        ["median (median of runs)", fmt(med, 1), "< 20 ms", "met" if med < 20 else "MISSED"],
        ["p99 (median of runs)", fmt(p99, 1), "< 100 ms", "met" if p99 < 100 else "MISSED"],
        [
            "pooled p50 / p90 / p99 / max",
            " / ".join(fmt(percentile(pooled, q), 1) for q in (0.5, 0.9, 0.99, 1.0)),
            "",
            "",
        ],
        [
            "pooled p50 / p99 from before COMMIT was sent",
            " / ".join(fmt(percentile(pooled_before, q), 1) for q in (0.5, 0.99)),
            "",
            "",
        ],
        [
            "the COMMIT itself p50 / p99",
            " / ".join(fmt(percentile(commits, q), 1) for q in (0.5, 0.99)),
            "",
            "",
        ],
    ]
    print(common.table(["figure", "ms", "target", ""], rows))
    twice = sum(r["jobs_run_more_than_once"] for r in runs)
    print(
        f"\njobs performed more than once: {twice}; clusters stopped by SIGTERM: "
        f"{sum(1 for r in runs if r['stopped_cleanly'])}/{len(runs)}"
    )
    path = common.save(
        "latency",
        {
            "machine": info,
            "args": vars(args),
            "median_ms": med,
            "p99_ms": p99,
            "pooled": {q: percentile(pooled, q) for q in (0.5, 0.9, 0.99, 1.0)},
            "pooled_from_before_commit": {q: percentile(pooled_before, q) for q in (0.5, 0.99)},
            "commit_ms": {q: percentile(commits, q) for q in (0.5, 0.99)},
            "runs": [
                {
                    k: v
                    for k, v in r.items()
                    if k not in ("latency_ms", "from_before_commit_ms", "commit_ms")
                }
                | {
                    "median_ms": median(r["latency_ms"]),
                    "p99_ms": percentile(r["latency_ms"], 0.99),
                    "max_ms": max(r["latency_ms"]),
                }
                for r in runs
            ],
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
