"""Drain rate against the backlog: a default node started over 10,000 waiting no-op jobs, and over
1,000,000 waiting (with 10,000 scheduled for later and 100,000 completed, not yet pruned, as a
busy production table would hold them). Issue 18's target: the large figure >= 0.9x the small.

    .venv/bin/python bench/backlog.py [--sizes 10000,1000000] [--runs 2] [--window 1000:9000]

Each run: empty jobs_job; fill it with one INSERT ... SELECT generate_series (the waiting jobs
on the NoopWorker's queue "default", ids in insertion order); VACUUM ANALYZE (the state
autovacuum keeps it in); start `manage.py qcluster` with default settings. The node drains from
its first claim; the rate is read from the jobs' own completed_at: the completions numbered
--window (default the 1,000th to the 9,000th after start) divided by the time between them, so
warm-up and the end of a small backlog are left out and both sizes are measured over the same
kind of stretch. The node is stopped once the window is complete (a million jobs are not
drained to the end).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import JOBS_DB, fmt, median

FILL = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, attempted_at, completed_at, inserted_at,
                      uniq_states)
SELECT %(state)s::text, 'default', 'bench.workers.NoopWorker', jsonb_build_object('n', g),
       '{}'::jsonb, '{}', '[]'::jsonb,
       CASE WHEN %(state)s::text = 'completed' THEN 1 ELSE 0 END, 20, 0,
       CASE %(state)s::text WHEN 'scheduled' THEN now() + make_interval(secs => 3600 + g %% 86400)
                      ELSE now() - interval '1 hour' END,
       CASE WHEN %(state)s::text = 'completed' THEN now() - interval '30 minutes' END,
       CASE WHEN %(state)s::text = 'completed' THEN now() - interval '30 minutes' END,
       now() - interval '1 hour', 0
  FROM generate_series(1, %(n)s) AS g
"""

NTH_COMPLETION = """
SELECT extract(epoch FROM completed_at) FROM jobs_job
 WHERE completed_at >= to_timestamp(%(since)s) AND state = 'completed'
 ORDER BY completed_at OFFSET %(nth)s LIMIT 1
"""


def fill(conn, waiting: int, with_history: bool) -> dict:
    common.reset_jobs_tables(conn)
    started = time.monotonic()
    counts = {"available": waiting}
    if with_history:
        counts |= {"scheduled": 10_000, "completed": 100_000}
    for state, n in counts.items():
        conn.execute(FILL, {"state": state, "n": n})
    conn.execute("VACUUM ANALYZE jobs_job")
    return counts | {"fill_seconds": time.monotonic() - started}


def one_run(waiting: int, with_history: bool, first: int, last: int) -> dict:
    with common.connect(JOBS_DB) as conn:
        table = fill(conn, waiting, with_history)
        since = conn.execute("SELECT extract(epoch FROM now())").fetchone()[0]
        cluster = common.engine_cluster(JOBS_DB).start()
        try:
            cluster.wait_for_output(" ready:", timeout=120)
            deadline = time.monotonic() + 600
            while True:
                end = conn.execute(NTH_COMPLETION, {"since": since, "nth": last}).fetchone()
                if end:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{last} completions not reached within 600 s")
                time.sleep(0.2)
            start = conn.execute(NTH_COMPLETION, {"since": since, "nth": first}).fetchone()
            twice = conn.execute(
                "SELECT count(*) FROM jobs_job WHERE attempt > 1 OR errors <> '[]'::jsonb"
            ).fetchone()[0]
        finally:
            cluster.stop()
    seconds = float(end[0]) - float(start[0])
    result = {
        "waiting": waiting,
        "table": table,
        "window": [first, last],
        "seconds": seconds,
        "rate": (last - first) / seconds,
        "retried_or_failed": twice,
        "stopped_cleanly": cluster.stopped_cleanly,
    }
    cluster.cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--window", default="1000:9000", help="FIRST:LAST completion numbers")
    args = parser.parse_args()
    first, last = (int(x) for x in args.window.split(":"))
    sizes = [int(x) for x in args.sizes.split(",")]
    if last >= min(sizes):
        raise SystemExit(f"--window ends at {last}: it must end below the smallest size")

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(JOBS_DB)
    smallest = min(sizes)
    results: dict[int, list[dict]] = {}
    for size in sizes:
        for run in range(args.runs):
            r = one_run(size, size > smallest, first, last)
            results.setdefault(size, []).append(r)
            print(
                f"  {size:,} waiting run {run + 1}: {fmt(r['rate'])} jobs/s "
                f"(completions {first:,}-{last:,} in {r['seconds']:.2f} s; table filled in "
                f"{r['table']['fill_seconds']:.0f} s; retried or failed: "
                f"{r['retried_or_failed']})",
                flush=True,
            )
    medians = {size: median([r["rate"] for r in runs]) for size, runs in results.items()}
    base = medians[smallest]
    rows = [
        [
            f"{size:,} waiting"
            + (" + 10,000 scheduled + 100,000 completed" if size > smallest else ""),
            fmt(rate, 0),
            ", ".join(fmt(r["rate"]) for r in results[size]),
            fmt(rate / base, 2) + "x",
        ]
        for size, rate in medians.items()
    ]
    print(f"\nDrain rate of a default node against the backlog (medians of {args.runs} runs):")
    print(common.table(["table", "jobs/s", "runs", f"/ {smallest:,} (target >= 0.9x)"], rows))
    path = common.save("backlog", {"machine": info, "args": vars(args), "results": results})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
