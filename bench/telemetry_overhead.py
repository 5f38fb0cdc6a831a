"""The cost of the engine's telemetry on drain throughput: the engine at its default settings
with its node metrics endpoint and signal receivers on, against the same checkout with them
off, run by run alternately (off, on, off, on, ...) so that whatever else the machine does
weighs on both alike.

    flock /work/bench.lock .venv/bin/python bench/telemetry_overhead.py --jobs 4000 --runs 4
    git archive a007fd3 | tar -x -C /tmp/base      # optional: the engine before the telemetry
    flock /work/bench.lock .venv/bin/python bench/telemetry_overhead.py --base /tmp/base ...

"off": JOBS_METRICS_PORT unset (figures kept in each process's memory, never served) and no
receiver connected. "on": bench.telemetry_settings (JOBS_METRICS_PORT set, so every worker
writes its figures to prometheus-client's multiprocess files, plus receivers on job_started
and job_finished). Every attempt's log line and Sentry check run in both. "base" (--base):
an export of an earlier revision, run from its own directory in the same alternation (same
database; its cluster imports its own code). Worker CPU per job is printed beside the rate:
on a shared machine it varies less. Last, the telemetry's own cost per attempt is measured in
this process (started + finished, no perform, no SQL). Results:
bench/results/telemetry-overhead.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common, throughput
from bench.common import fmt, median

VARIANTS = {"off": None, "on": "bench.telemetry_settings"}
MICRO_ATTEMPTS = 20_000


def per_attempt_microseconds() -> dict[str, float]:
    """The telemetry's own cost per attempt in one process, without perform or SQL: what
    execute_attempt adds around an attempt (started + finished), off and on."""
    import tempfile
    import time
    from datetime import UTC, datetime
    from types import SimpleNamespace

    common.setup_django(common.JOBS_DB)
    from workflows.jobs.policy.outcomes import AttemptResult, Outcome
    from workflows.jobs.telemetry import attempts, metrics

    now = datetime.now(UTC)
    job = SimpleNamespace(
        pk=1, worker="bench.workers.NoopWorker", queue="default", attempt=1, max_attempts=20,
        scheduled_at=now, attempted_at=now,
    )  # fmt: skip
    result = AttemptResult(Outcome.COMPLETED)

    def measure() -> float:
        began = time.perf_counter()
        for _ in range(MICRO_ATTEMPTS):
            attempts.finished(job, "node", result, attempts.started(job, "node"))
        return (time.perf_counter() - began) / MICRO_ATTEMPTS * 1e6

    found = {"off": measure()}
    metrics.enable_multiprocess(tempfile.mkdtemp(prefix="bench-metrics-"))
    import bench.telemetry_receivers  # noqa: F401  (connects the receivers)

    found["on"] = measure()
    return found


def worker_cpu_ms(result: dict) -> float:
    """CPU milliseconds of the worker processes per job (less sensitive to a loaded machine
    than the drain rate)."""
    return result["cpu"].get("worker", 0.0) / result["jobs"] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--base",
        default=None,
        help="also run an export of an earlier revision (git archive REV | tar -x -C DIR) "
        "in the same alternation, as 'base' (engine code before the telemetry)",
    )
    args = parser.parse_args()
    variants: dict[str, tuple[str | None, Path]] = {
        name: (settings, common.ROOT) for name, settings in VARIANTS.items()
    }
    if args.base:
        variants = {"base": (None, Path(args.base).resolve()), **variants}
    info = common.machine()
    common.print_machine(info)
    throughput.prepare({"engine"})
    rates: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    this_root = common.ROOT
    for run in range(args.runs):
        for name, (settings, root) in variants.items():
            common.ROOT = root  # the cluster's working directory and PYTHONPATH
            try:
                result = throughput.run_engine(args.jobs, None, None, None, settings=settings)
            finally:
                common.ROOT = this_root
            rates[name].append(result["rate"])
            cpu[name].append(worker_cpu_ms(result))
            print(
                f"  {name} run {run + 1}: {fmt(result['rate'])} jobs/s, "
                f"workers {cpu[name][-1]:.3f} CPU-ms per job",
                flush=True,
            )
    off, on = median(rates["off"]), median(rates["on"])
    change = (on - off) / off * 100
    cpu_off, cpu_on = median(cpu["off"]), median(cpu["on"])
    cpu_change = (cpu_on - cpu_off) / cpu_off * 100
    micro = per_attempt_microseconds()
    print()
    for name in variants:
        runs = [round(r) for r in rates[name]]
        print(
            f"{name:5} median {fmt(median(rates[name]))} jobs/s, workers "
            f"{median(cpu[name]):.3f} CPU-ms per job; runs {runs}"
        )
    print(f"on vs off: {change:+.1f} % jobs/s")
    if "base" in variants:
        base = median(rates["base"])
        print(f"on vs base: {(on - base) / base * 100:+.1f} % jobs/s")
    print(f"worker CPU per job: off {cpu_off:.3f} ms, on {cpu_on:.3f} ms ({cpu_change:+.1f} %)")
    print(
        f"telemetry per attempt in one process: off {micro['off']:.1f} us, on {micro['on']:.1f} us"
    )
    out = common.RESULTS / "telemetry-overhead.json"
    out.write_text(
        json.dumps(
            {
                "machine": info,
                "jobs": args.jobs,
                "rates": rates,
                "worker_cpu_ms_per_job": cpu,
                "change_percent": change,
                "cpu_change_percent": cpu_change,
                "per_attempt_microseconds": micro,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
