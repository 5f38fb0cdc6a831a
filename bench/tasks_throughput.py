"""Drain throughput of `@task` no-ops through workflows.jobs.tasks.JobsBackend, side by side
with Worker no-ops (bench.workers.NoopWorker), on one qcluster configuration in one run.

    flock /work/bench.lock .venv/bin/python bench/tasks_throughput.py --jobs 5000 --runs 2

Method (bench/throughput.py's): a fresh cluster per drain on truncated tables, warmed up with
a few jobs of the same kind; the N timed jobs are inserted in ONE transaction (Worker:
insert_all; tasks: N .enqueue() calls, as an application enqueues them); t0 = that commit;
the drain ends at max(completed_at). rate = N / (end - t0). Kinds alternate within each run
so a change in the machine's load falls on both. Target: tasks within 15 % of Workers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import JOBS_DB, PYTHON, ROOT, median

WARMUP_JOBS = 20
DRAIN_TIMEOUT_SECONDS = 600
MODULES = "bench.workers,bench.tasks_noop"


def _enqueue(kind: str, n: int) -> dict:
    common.setup_django(JOBS_DB, JOBS_WORKER_MODULES=MODULES)
    from django.db import transaction

    from bench.tasks_noop import noop
    from bench.workers import NoopWorker
    from workflows.jobs import insert_all

    started = time.time()
    with transaction.atomic():
        if kind == "worker":
            insert_all([NoopWorker.new({"n": i}) for i in range(n)])
        else:
            for i in range(n):
                noop.enqueue(i)
    return {"insert_started": started, "committed": time.time()}


def enqueue(kind: str, n: int) -> dict:
    out = subprocess.run(
        [PYTHON, str(Path(__file__).resolve()), "--enqueue", kind, str(n)],
        cwd=ROOT,
        env=common.base_env(JOBS_DB, JOBS_WORKER_MODULES=MODULES),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"enqueue {kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _unfinished(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM jobs_job WHERE state IN "
        "('available', 'executing', 'scheduled', 'retryable')"
    ).fetchone()[0]


def _wait_drained(conn, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _unfinished(conn):
        if time.monotonic() > deadline:
            raise TimeoutError("the drain did not finish")
        time.sleep(0.1)


def run_one(kind: str, n: int) -> dict:
    with common.connect(JOBS_DB) as conn:
        common.reset_jobs_tables(conn)
    cluster = common.engine_cluster(JOBS_DB, JOBS_WORKER_MODULES=MODULES).start()
    try:
        cluster.wait_for_output(" ready:")
        with common.connect(JOBS_DB) as conn:
            enqueue(kind, WARMUP_JOBS)
            _wait_drained(conn, 60)
            times = enqueue(kind, n)
            _wait_drained(conn, DRAIN_TIMEOUT_SECONDS)
            end = conn.execute(
                "SELECT extract(epoch FROM max(completed_at)) FROM jobs_job"
            ).fetchone()[0]
            states = dict(conn.execute("SELECT state, count(*) FROM jobs_job GROUP BY state"))
    finally:
        cluster.stop()
    elapsed = float(end) - times["committed"]
    result = {"kind": kind, "jobs": n, "seconds": elapsed, "rate": n / elapsed, "states": states}
    if states != {"completed": n + WARMUP_JOBS}:
        result["anomaly"] = True
        result["log_tail"] = cluster.output()[-2000:]
    cluster.cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--enqueue", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.enqueue:
        print(json.dumps(_enqueue(args.enqueue[0], int(args.enqueue[1]))))
        return
    common.ensure_database(JOBS_DB)
    common.migrate_jobs_database(JOBS_DB)
    runs: dict[str, list[dict]] = {"worker": [], "task": []}
    for _ in range(args.runs):
        for kind in ("worker", "task"):
            runs[kind].append(run_one(kind, args.jobs))
    rates = {kind: median([r["rate"] for r in results]) for kind, results in runs.items()}
    print(f"{'kind':<8} {'jobs':>6} {'runs':>4}  rates (jobs/s)           median")
    for kind, results in runs.items():
        each = ", ".join(f"{r['rate']:,.0f}" for r in results)
        print(f"{kind:<8} {args.jobs:>6} {len(results):>4}  {each:<24} {rates[kind]:,.0f}")
    ratio = rates["task"] / rates["worker"]
    print(
        f"@task / Worker rate: {ratio:.3f} ({(ratio - 1) * 100:+.1f} %; target: no lower than "
        f"-15 %)"
    )
    anomalies = [r for rs in runs.values() for r in rs if r.get("anomaly")]
    if anomalies:
        print(f"ANOMALIES: {json.dumps(anomalies, default=str)[:3000]}")
    common.save("tasks_throughput", {"runs": runs, "rates": rates, "ratio": ratio})


if __name__ == "__main__":
    main()
