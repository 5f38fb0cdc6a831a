"""The cost of one scrape of the web app's /metrics (the cluster's state) with a million jobs.

    flock /work/bench.lock .venv/bin/python bench/metrics_scrape.py --jobs 1000000

Fills the benchmark database's jobs table with --jobs rows by SQL (90 % completed, the rest
available, scheduled, retryable, discarded, executing, over five queues, plus cron-slot jobs
of the crontab's workers), ANALYZEs it, then times --scrapes calls of the endpoint's collector
in this process (the same code a request runs, without HTTP), and prints each statement's plan.
Results: bench/results/metrics-scrape.json. The table is emptied afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common, throughput
from bench.common import JOBS_DB, median

QUEUES = ["default", "email", "medical_workflow", "lgpd_analysis", "compliance_check"]
FILL = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, inserted_at, scheduled_at, attempted_at, completed_at,
                      discarded_at, attempted_by, uniq_states)
SELECT s.state, (%(queues)s::text[])[1 + g %% 5], 'bench.workers.NoopWorker', '{}', '{}',
       '{}', '[]', CASE WHEN s.state = 'available' THEN 0 ELSE 1 END, 20, g %% 10,
       now() - interval '1 hour', now() - (g %% 3600) * interval '1 second'
         + CASE WHEN s.state = 'scheduled' THEN interval '2 hours' ELSE interval '0' END,
       CASE WHEN s.state IN ('available', 'scheduled') THEN NULL ELSE now() END,
       CASE WHEN s.state = 'completed' THEN now() END,
       CASE WHEN s.state = 'discarded' THEN now() END,
       CASE WHEN s.state = 'executing' THEN ARRAY['bench-node'] ELSE '{}' END, 0
  FROM generate_series(1, %(n)s) AS g,
       LATERAL (SELECT CASE WHEN g %% 100 < 90 THEN 'completed'
                            WHEN g %% 100 < 95 THEN 'available'
                            WHEN g %% 100 < 97 THEN 'scheduled'
                            WHEN g %% 100 < 98 THEN 'retryable'
                            WHEN g %% 100 < 99 THEN 'discarded'
                            ELSE 'executing' END AS state) AS s
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    info = common.machine()
    common.print_machine(info)
    throughput.prepare({"engine"})
    common.setup_django(JOBS_DB)
    from django.db import connection

    from workflows.jobs.api.queues import sync_queues
    from workflows.jobs.node.cron import crontab, insert_cron_job
    from workflows.jobs.store import cluster_state
    from workflows.jobs.telemetry.web import ClusterCollector

    with common.connect(JOBS_DB) as conn:
        common.reset_jobs_tables(conn)
        started = time.monotonic()
        conn.execute(FILL, {"queues": QUEUES, "n": args.jobs})
        conn.execute("ANALYZE jobs_job")
        filled = time.monotonic() - started
    sync_queues()
    for entry in crontab():
        insert_cron_job(entry.worker, entry.expression, "2026-11-30T10:00:00+00:00")
    print(f"filled {args.jobs:,} jobs in {filled:.1f} s")
    collector = ClusterCollector()
    list(collector.collect())  # warm: plans, caches
    times = []
    for _ in range(args.scrapes):
        began = time.perf_counter()
        families = list(collector.collect())
        times.append(time.perf_counter() - began)
    series = sum(len(family.samples) for family in families)
    plans = {}
    with connection.cursor() as cursor:
        for name, statement, params in (
            ("queues", cluster_state.QUEUES, None),
            ("counts", cluster_state.COUNTS, None),
            ("cron", cluster_state.CRON_LAST_SLOTS, [[e.worker for e in crontab()]]),
        ):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + statement, params)
            plans[name] = [row[0] for row in cursor.fetchall()]
    result = {
        "machine": info,
        "jobs": args.jobs,
        "series": series,
        "scrape_seconds_median": median(times),
        "scrape_seconds_max": max(times),
        "plans": plans,
    }
    print(
        f"one scrape: median {median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
        f"({series} series, {args.scrapes} scrapes)"
    )
    for name, lines in plans.items():
        print(f"\n-- {name}\n" + "\n".join(lines))
    (common.RESULTS / "metrics-scrape.json").write_text(json.dumps(result, indent=2))
    with common.connect(JOBS_DB) as conn:
        common.reset_jobs_tables(conn)


if __name__ == "__main__":
    main()
