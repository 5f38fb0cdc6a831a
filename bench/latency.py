"""Pickup latency of an idle node: insert commit -> perform start.

    .venv/bin/python bench/latency.py [--jobs 300] [--runs 3]

A real `manage.py qcluster` with default settings is started and left idle. Then, one at a time,
a LatencyWorker job is inserted in its own transaction; the benchmark notes time.time() right
after the commit returned (and right before it was sent); the worker notes time.time() when
perform() starts and writes it to bench_latency. The next job is inserted only after the previous
one has started and a further pause (--pause, default 0.15-0.25 s) so the node is idle again
(its claimer asleep on LISTEN). Latency = perform start - commit returned. Targets: median
< 20 ms, p99 < 100 ms. Each run starts a fresh cluster; medians over runs and pooled figures.

Under load (issue 18): `--background-rate R` keeps a second connection inserting no-op jobs into
the same queue at R jobs/s (a batch every 20 ms) while the probes run, so the node is draining,
not idle; pass half the drain rate bench/throughput.py measured on the same machine
(`--background-rate 1200 --pause 0.05`). Targets there: p50 <= 5 ms, p99 <= 25 ms. The
background rate actually achieved and the backlog left at the end are printed: a backlog that
grows means the rate was above the drain rate, and the latencies then measure queueing.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import JOBS_DB, fmt, median, percentile

BACKGROUND_INSERT = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, inserted_at, uniq_states)
SELECT 'available', 'default', 'bench.workers.NoopWorker', jsonb_build_object('n', g),
       '{}'::jsonb, '{}', '[]'::jsonb, 0, 20, 0, now(), now(), 0
  FROM generate_series(1, %(n)s) AS g
"""


class BackgroundLoad(threading.Thread):
    """Inserts no-op jobs at `rate` per second on its own connection until stopped."""

    TICK = 0.02

    def __init__(self, rate: float):
        super().__init__(daemon=True)
        self.rate = rate
        self.inserted = 0
        self.stopping = threading.Event()
        self.started_at = self.stopped_at = 0.0

    def run(self) -> None:
        with common.connect(JOBS_DB) as conn:
            self.started_at = time.monotonic()
            owed = 0.0
            next_tick = self.started_at
            while not self.stopping.is_set():
                owed += self.rate * self.TICK
                batch = int(owed)
                if batch:
                    conn.execute(BACKGROUND_INSERT, {"n": batch})
                    self.inserted += batch
                    owed -= batch
                next_tick += self.TICK
                time.sleep(max(0.0, next_tick - time.monotonic()))
            self.stopped_at = time.monotonic()

    def achieved_rate(self) -> float:
        return self.inserted / max(1e-9, self.stopped_at - self.started_at)


def one_run(n: int, pause: float, jitter: float, conn, background_rate: float = 0.0) -> dict:
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
        load = BackgroundLoad(background_rate) if background_rate else None
        for i in range(warmup + n):
            if load and i == warmup:
                load.start()
                time.sleep(1.0)  # the node settles into draining before the first probe
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
        backlog = None
        if load:
            load.stopping.set()
            load.join()
            backlog = conn.execute(
                "SELECT count(*) FROM jobs_job WHERE state = 'available'"
            ).fetchone()[0]
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
    if load:
        result["background"] = {
            "target_rate": background_rate,
            "achieved_rate": load.achieved_rate(),
            "inserted": load.inserted,
            "backlog_at_end": backlog,
        }
    cluster.cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.15)
    parser.add_argument("--jitter", type=float, default=0.10)
    parser.add_argument(
        "--background-rate",
        type=float,
        default=0.0,
        help="no-op jobs/s inserted by a second connection while probing (0: idle node)",
    )
    args = parser.parse_args()
    loaded = args.background_rate > 0

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(JOBS_DB)
    common.setup_django(JOBS_DB)
    from bench.workers import LATENCY_TABLE

    runs = []
    with common.connect(JOBS_DB) as conn:
        conn.execute(LATENCY_TABLE)
        for run in range(args.runs):
            r = one_run(args.jobs, args.pause, args.jitter, conn, args.background_rate)
            runs.append(r)
            lat = r["latency_ms"]
            print(
                f"  run {run + 1}: median {median(lat):.1f} ms, p99 {percentile(lat, 0.99):.1f} "
                f"ms, max {max(lat):.1f} ms over {len(lat)} jobs; run twice: "
                f"{r['jobs_run_more_than_once']}"
                + (
                    f"; background {r['background']['achieved_rate']:.0f} jobs/s, backlog at "
                    f"end {r['background']['backlog_at_end']}"
                    if loaded
                    else ""
                ),
                flush=True,
            )

    pooled = [x for r in runs for x in r["latency_ms"]]
    pooled_before = [x for r in runs for x in r["from_before_commit_ms"]]
    commits = [x for r in runs for x in r["commit_ms"]]
    med = median([median(r["latency_ms"]) for r in runs])
    p99 = median([percentile(r["latency_ms"], 0.99) for r in runs])
    print()
    state = f"node draining {args.background_rate:.0f} background jobs/s" if loaded else "idle node"
    print(
        f"Insert commit -> perform start, {state} with default settings, {args.runs} runs x "
        f"{args.jobs} jobs:"
    )
    p50_target, p99_target = (5, 25) if loaded else (20, 100)
    rows = [
        [
            "median (median of runs)",
            fmt(med, 1),
            f"<= {p50_target} ms",
            "met" if med <= p50_target else "MISSED",
        ],
        [
            "p99 (median of runs)",
            fmt(p99, 1),
            f"<= {p99_target} ms",
            "met" if p99 <= p99_target else "MISSED",
        ],
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
        f"latency-loaded-{args.background_rate:.0f}" if loaded else "latency",
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
