"""Throughput and latency of this checkout against an earlier git revision, side by side in
one run: the two alternate run by run (base, this, base, this, ...) so that whatever else the
machine does weighs on both alike.

    .venv/bin/python bench/compare_revisions.py --base 8be643c --runs 3

The base revision is checked out into a temporary git worktree and benchmarked with its own
bench scripts and its own migrations on a database of its own (`bench_jobs_base`); only its
bench/common.py database name is changed there, in the temporary checkout. Each figure is the
engine at its default settings (bench/throughput.py --only engine, bench/latency.py).
Results: bench/results/compare-revisions.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import fmt, median

BASE_DB = "bench_jobs_base"
DEFAULT_KEY = "engine default settings (4 workers, prefetch 12)"


def _checkout(revision: str, into: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(common.ROOT), "worktree", "add", "--detach", str(into), revision],
        check=True,
        capture_output=True,
    )
    bench_common = into / "bench" / "common.py"
    text = bench_common.read_text()
    if "BENCH_JOBS_DB" not in text:  # revisions before the setting existed
        text = text.replace('JOBS_DB = "bench_jobs"', f'JOBS_DB = "{BASE_DB}"')
        bench_common.write_text(text)
    return into


def _run(root: Path, script: str, args: list[str], results: Path, database: str) -> dict:
    env = {**common.os.environ, "BENCH_RESULTS": str(results), "BENCH_JOBS_DB": database}
    subprocess.run(
        [common.PYTHON, f"bench/{script}.py", *args],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return json.loads((results / f"{script}.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--jobs", type=int, default=10_000, help="throughput jobs per run")
    parser.add_argument("--latency-jobs", type=int, default=300)
    args = parser.parse_args()

    info = common.machine()
    common.print_machine(info)
    here = info["commit"]
    figures: dict[str, dict[str, list[float]]] = {
        label: {"throughput": [], "latency_p50": [], "latency_p99": []}
        for label in (args.base, here)
    }
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        base_root = _checkout(args.base, Path(tmp) / "tree")
        trees = [(args.base, base_root, BASE_DB), (here, common.ROOT, common.JOBS_DB)]
        try:
            for run in range(args.runs):
                for label, root, database in trees:
                    results = Path(tmp) / f"results-{label}-{run}"
                    throughput = _run(
                        root,
                        "throughput",
                        ["--only", "engine", "--runs", "1", "--jobs", str(args.jobs)],
                        results,
                        database,
                    )
                    rate = throughput["medians"][DEFAULT_KEY]
                    latency = _run(
                        root,
                        "latency",
                        ["--runs", "1", "--jobs", str(args.latency_jobs)],
                        results,
                        database,
                    )
                    figures[label]["throughput"].append(rate)
                    figures[label]["latency_p50"].append(latency["median_ms"])
                    figures[label]["latency_p99"].append(latency["p99_ms"])
                    print(
                        f"run {run + 1} {label}: {fmt(rate, 0)} jobs/s, latency p50 "
                        f"{fmt(latency['median_ms'], 1)} ms, p99 {fmt(latency['p99_ms'], 1)} ms",
                        flush=True,
                    )
        finally:
            subprocess.run(
                ["git", "-C", str(common.ROOT), "worktree", "remove", "--force", str(base_root)],
                check=False,
                capture_output=True,
            )
    rows = []
    for label in (args.base, here):
        f = figures[label]
        rows.append(
            [
                label,
                fmt(median(f["throughput"]), 0),
                fmt(median(f["latency_p50"]), 1),
                fmt(median(f["latency_p99"]), 1),
            ]
        )
    ratio = median(figures[here]["throughput"]) / median(figures[args.base]["throughput"])
    print()
    print(common.table(["revision", "jobs/s (median)", "latency p50 ms", "latency p99 ms"], rows))
    print(f"\nthroughput {here} / {args.base}: {ratio:.3f}")
    common.save(
        "compare-revisions",
        {"machine": info, "args": vars(args), "figures": figures, "ratio": ratio},
    )


if __name__ == "__main__":
    main()
