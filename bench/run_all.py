"""Run every benchmark in turn (about 20 minutes in all on the 2-core machine).

    .venv/bin/python bench/run_all.py                   # all, default sizes
    BENCH_RESULTS=/tmp/bench-smoke .venv/bin/python bench/run_all.py --quick   # smoke test
    .venv/bin/python bench/run_all.py --only latency,prune
    .venv/bin/python bench/run_all.py --wait-quiet 1.0  # wait for 1-min load average <= 1.0

Needs the PostgreSQL server on 127.0.0.1:5432 (user postgres, trust auth) and, for the
comparison, `.venv/bin/pip install -e '.[dev,bench]'` (procrastinate, and py-spy, which the
throughput benchmark uses to profile the cluster's processes). Every benchmark
prints its figures and saves them to bench/results/NAME.json (or $BENCH_RESULTS/NAME.json);
docs/benchmarks.md is written from those. Benchmarks use their own databases (bench_jobs,
bench_djangoq, bench_procrastinate, bench_pgbench) and never touch the project's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WIDE_DEFAULT_QUEUE = "medical_workflow=10,lgpd_analysis=5,compliance_check=3,email=5,default=100"
FULL = {
    "throughput": [
        "--engine",
        "4:12",
        "--engine",
        "8:24",
        "--engine-queues",
        WIDE_DEFAULT_QUEUE,
        "--djangoq-lean",
    ],
    "latency": [],
    "insert_rate": [],
    "claim_scale": [],
    "memory": [],
    "prune": [],
    "retention": [],
}
QUICK = {
    "throughput": [
        "--jobs",
        "2000",
        "--djangoq-jobs",
        "100",
        "--runs",
        "1",
        "--pgbench-seconds",
        "5",
    ],
    "latency": ["--jobs", "30", "--runs", "1"],
    "insert_rate": ["--single", "300", "--runs", "1"],
    "claim_scale": ["--sizes", "1000,100000", "--claims", "50"],
    "memory": ["--jobs", "2000", "--runs", "1"],
    "prune": ["--old", "100000", "--runs", "1"],
    "retention": ["--audit", "100000", "--users", "20000", "--posts", "20000"],
}


def wait_quiet(threshold: float, limit: float = 600.0) -> None:
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] > threshold and time.monotonic() < deadline:
        time.sleep(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(FULL))
    parser.add_argument("--wait-quiet", type=float, default=None, metavar="LOAD")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    failed = []
    for name in args.only.split(","):
        if args.wait_quiet is not None:
            wait_quiet(args.wait_quiet)
        print(f"\n===== bench/{name}.py {' '.join(plan[name])} =====", flush=True)
        started = time.monotonic()
        code = subprocess.call(
            [sys.executable, str(ROOT / "bench" / f"{name}.py"), *plan[name]], cwd=ROOT
        )
        print(
            f"===== {name}: exit {code} after {time.monotonic() - started:.0f} s =====", flush=True
        )
        if code:
            failed.append(name)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
