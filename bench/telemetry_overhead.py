"""The cost of the engine's telemetry on drain throughput: the engine at its default settings
with its node metrics endpoint and signal receivers on, against the same checkout with them
off, run by run alternately (off, on, off, on, ...) so that whatever else the machine does
weighs on both alike.

    flock /work/bench.lock .venv/bin/python bench/telemetry_overhead.py --jobs 5000 --runs 3

"off": JOBS_METRICS_PORT unset (figures kept in each process's memory, never served) and no
receiver connected. "on": bench.telemetry_settings (JOBS_METRICS_PORT set, so every worker
writes its figures to prometheus-client's multiprocess files, plus receivers on job_started
and job_finished). Every attempt's log line and Sentry check run in both. Results:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    info = common.machine()
    common.print_machine(info)
    throughput.prepare({"engine"})
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for run in range(args.runs):
        for name, settings in VARIANTS.items():
            result = throughput.run_engine(args.jobs, None, None, None, settings=settings)
            rates[name].append(result["rate"])
            print(f"  telemetry {name} run {run + 1}: {fmt(result['rate'])} jobs/s", flush=True)
    off, on = median(rates["off"]), median(rates["on"])
    change = (on - off) / off * 100
    print(f"\ntelemetry off  median {fmt(off)} jobs/s  runs {[round(r) for r in rates['off']]}")
    print(f"telemetry on   median {fmt(on)} jobs/s  runs {[round(r) for r in rates['on']]}")
    print(f"on vs off: {change:+.1f} %")
    out = common.RESULTS / "telemetry-overhead.json"
    out.write_text(
        json.dumps(
            {"machine": info, "jobs": args.jobs, "rates": rates, "change_percent": change},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
