"""The dashboard's job search over a million jobs: how long the job list takes to answer for
each search key (the page of 50 newest matches, and the page plus the per-state counts).

    flock /work/bench.lock .venv/bin/python bench/dashboard_search.py [--jobs 1000000] [--runs 5]

The table is filled with one INSERT ... SELECT generate_series (the jobs_job indexes are
dropped first and re-created from their own definitions after, then VACUUM ANALYZE): 90 %
completed, 5 % discarded, 3 % available, 1 % scheduled, 0.5 % retryable, 0.5 % cancelled; three
registered workers (bench.workers) plus 1 % of rows of an unregistered worker; five queues, tags,
args {"post_id": n, "patient": {"ref": n % 1000}}, meta {"source": ...}, four nodes. Each search
runs exactly what the list view runs (workflows.jobs.dashboard.selectors), --runs times; the
figures are the median and the worst run, in ms. Database: dashboard_bench (BENCH_JOBS_DB).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import median

DATABASE = os.environ.get("BENCH_JOBS_DB", "dashboard_bench")
TARGET_MS = 200

FILL = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, attempted_at, attempted_by, completed_at,
                      discarded_at, cancelled_at, inserted_at, uniq_states)
SELECT s.state,
       (ARRAY['medical_workflow', 'lgpd_analysis', 'compliance_check', 'email', 'default'])
         [1 + g %% 5],
       CASE WHEN g %% 100 = 0 THEN 'bench.legacy.RetiredWorker'
            ELSE (ARRAY['bench.workers.NoopWorker', 'bench.workers.LatencyWorker',
                        'bench.workers.CountingWorker'])[1 + g %% 3] END,
       jsonb_build_object('post_id', g, 'patient', jsonb_build_object('ref', g %% 1000)),
       jsonb_build_object('source', (ARRAY['cron', 'api', 'admin'])[1 + g %% 3]),
       ARRAY[(ARRAY['nightly', 'weekly', 'urgent', 'lgpd', 'cfm'])[1 + g %% 5]],
       CASE WHEN s.state IN ('discarded', 'retryable')
            THEN jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now()::text,
                                                      'error', 'RuntimeError: boom'))
            ELSE '[]'::jsonb END,
       CASE WHEN s.state IN ('available', 'scheduled') THEN 0 ELSE 1 END, 20, g %% 10,
       now() - make_interval(secs => (%(n)s - g) / 10.0)
         + CASE WHEN s.state = 'scheduled' THEN interval '1 hour' ELSE interval '0' END,
       CASE WHEN s.state NOT IN ('available', 'scheduled') THEN now() END,
       CASE WHEN s.state NOT IN ('available', 'scheduled')
            THEN ARRAY['node-' || (g %% 4), 'producer'] END,
       CASE WHEN s.state = 'completed' THEN now() END,
       CASE WHEN s.state = 'discarded' THEN now() END,
       CASE WHEN s.state = 'cancelled' THEN now() END,
       now() - make_interval(secs => (%(n)s - g) / 10.0), 0
  FROM generate_series(1, %(n)s) AS g
 CROSS JOIN LATERAL (SELECT CASE
       WHEN g %% 200 = 1 THEN 'retryable' WHEN g %% 200 = 2 THEN 'cancelled'
       WHEN g %% 100 IN (3, 4, 5) THEN 'available' WHEN g %% 100 = 6 THEN 'scheduled'
       WHEN g %% 20 = 7 THEN 'discarded' ELSE 'completed' END) AS s(state)
"""


DASHBOARD_INDEXES = ("jobs_job_worker_id", "jobs_job_state_id", "jobs_job_node_id", "jobs_job_args")


def fill(conn, n: int) -> float:
    started = time.monotonic()
    common.reset_jobs_tables(conn)
    conn.execute(
        'INSERT INTO jobs_queue (name, "limit", configured_limit, paused, updated_at) '
        "SELECT q, 10, 10, false, now() FROM unnest(ARRAY['medical_workflow', 'lgpd_analysis', "
        "'compliance_check', 'email', 'default']) AS q"
    )
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = "
        "i.indexname JOIN pg_index x ON x.indexrelid = c.oid WHERE i.tablename = 'jobs_job' "
        "AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
        "WHERE k.conindid = c.oid)"
    ).fetchall()
    # One transaction: a failed fill leaves the indexes as they were.
    with conn.transaction():
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(FILL, {"n": n})
        for _, definition in indexes:
            conn.execute(definition)
    conn.execute("VACUUM ANALYZE jobs_job")
    present = {row[0] for row in conn.execute("SELECT indexname FROM pg_indexes").fetchall()}
    missing = [name for name in DASHBOARD_INDEXES if name not in present]
    if missing:
        sys.exit(f"indexes {missing} are missing: migrate {DATABASE} (manage.py migrate jobs)")
    return time.monotonic() - started


SEARCHES = [
    ("(none: newest jobs)", ""),
    ("id: (3 ids)", "id:{mid},{old},{new}"),
    ("worker: (a third of the rows)", "worker:NoopWorker"),
    ("worker: unregistered (1 %)", "worker:RetiredWorker"),
    ("free text on the worker", "latency"),
    ("queue:", "queue:email"),
    ("state: discarded (5 %)", "state:discarded"),
    ("state: retryable (0.5 %)", "state:retryable"),
    ("tags:", "tags:urgent"),
    ("node:", "node:node-2"),
    ("priority:", "priority:3"),
    ("args.<path>: (one job)", "args.post_id:{mid}"),
    ("args.<nested path>: (0.1 %)", "args.patient.ref:42"),
    ("meta.<path>:", "meta.source:cron"),
    (
        "combined: state + worker + queue",
        "state:discarded worker:NoopWorker queue:compliance_check",
    ),
]


def time_search(text: str, runs: int) -> tuple[list[float], list[float], int]:
    from workflows.jobs.dashboard import selectors
    from workflows.jobs.dashboard.search import parse_search

    page_ms, full_ms = [], []
    found = 0
    for _ in range(runs):
        started = time.perf_counter()
        search = parse_search(text)
        jobs = selectors.jobs_search(search, may_search_data=True)
        page = selectors.job_page(jobs)
        page_ms.append((time.perf_counter() - started) * 1000)
        selectors.state_counts(search, may_search_data=True)
        full_ms.append((time.perf_counter() - started) * 1000)
        found = len(page.jobs)
    return page_ms, full_ms, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the jobs (to EXPLAIN)")
    args = parser.parse_args()

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(DATABASE)
    common.setup_django(DATABASE)
    with common.connect(DATABASE) as conn:
        seconds = fill(conn, args.jobs)
    print(f"filled {args.jobs:,} jobs in {seconds:.1f} s", flush=True)

    ids = {"old": 1, "mid": args.jobs // 2 + 11, "new": args.jobs - 3}
    rows = []
    worst = 0.0
    for label, template in SEARCHES:
        text = template.format(**ids)
        page_ms, full_ms, found = time_search(text, args.runs)
        worst = max(worst, max(full_ms))
        rows.append(
            [
                label,
                f"`{text}`" if text else "",
                str(found),
                f"{median(page_ms):.1f} / {max(page_ms):.1f}",
                f"{median(full_ms):.1f} / {max(full_ms):.1f}",
            ]
        )
        print(f"  {label}: page {median(page_ms):.1f} ms, with counts {median(full_ms):.1f} ms")
    print()
    print(
        f"Job list over {args.jobs:,} jobs, ms (median / worst of {args.runs} runs); "
        f"target {TARGET_MS} ms:"
    )
    print(
        common.table(["search", "text", "rows on page", "page of 50", "page + state counts"], rows)
    )
    print(f"worst of all: {worst:.1f} ms ({'within' if worst < TARGET_MS else 'ABOVE'} target)")
    common.save("dashboard_search", {"machine": info, "jobs": args.jobs, "rows": rows})
    if not args.keep:
        with common.connect(DATABASE) as conn:
            common.reset_jobs_tables(conn)


if __name__ == "__main__":
    main()
