"""Claim time against table size: SELECT jobs_claim(...) with 1,000 / 100,000 / 1,000,000 jobs.

    .venv/bin/python bench/claim_scale.py [--sizes 1000,100000,1000000] [--claims 300]
    .venv/bin/python bench/claim_scale.py --compare-with d2ca74e   # jobs_claim() before 0006

The table is filled with one INSERT ... SELECT generate_series per size, in mixed states spread
over the five default queues: 2 % available (priorities 0-2, due in the past), 1 % scheduled
(future), 1 % retryable, 1 % discarded, 0.5 % cancelled, the rest completed (completed_at spread
over the last 14 days), plus one executing job per queue owned by another node (so the limit
checks count something). Then VACUUM ANALYZE (the state autovacuum keeps it in).

Each measurement is one call of the engine's claim function exactly as the broker issues it
(node, room for 8 jobs, the five queues, a rotating start) in its own
transaction, ROLLED BACK afterwards so the available pool and the table stay the same for every
call. Times are client round trips (loopback) of the SELECT, medians over --claims calls after
20 warm-up calls. Target: the 1,000,000-row median within 2x of the 1,000-row one.

Then the same calls again with a backlog in "default" (half its completed rows made available,
~10 % of the table) while "email" has nothing waiting: a served queue with nothing waiting must
cost an index probe, not a read of the table.

EXPLAIN (ANALYZE, BUFFERS) plans of the claim's statements (the inner claim SELECT, and the two
counts it makes) are printed for each size and saved in bench/results/claim_scale.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import JOBS_DB, fmt, median, percentile

QUEUES = {
    "medical_workflow": 10,
    "lgpd_analysis": 5,
    "compliance_check": 3,
    "email": 5,
    "default": 10,
}
NODE = "bench-claim-node"

FILL = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, attempted_at, attempted_by, completed_at,
                      discarded_at, cancelled_at, inserted_at, uniq_states)
SELECT s.state,
       (ARRAY['medical_workflow', 'lgpd_analysis', 'compliance_check', 'email', 'default'])
         [1 + g %% 5],
       'bench.workers.NoopWorker', jsonb_build_object('n', g), '{}'::jsonb, '{}', '[]'::jsonb,
       CASE WHEN s.state IN ('available', 'scheduled') THEN 0 ELSE 1 END, 20,
       (g / 5) %% 3,
       CASE s.state WHEN 'scheduled' THEN now() + make_interval(secs => 60 + g %% 86400)
                    WHEN 'retryable' THEN now() + make_interval(secs => 30 + g %% 3600)
                    ELSE now() - make_interval(secs => s.age) END,
       CASE WHEN s.state IN ('available', 'scheduled') THEN NULL
            ELSE now() - make_interval(secs => s.age) END,
       CASE WHEN s.state IN ('available', 'scheduled') THEN NULL ELSE ARRAY['old-node'] END,
       CASE WHEN s.state = 'completed' THEN now() - make_interval(secs => s.age) END,
       CASE WHEN s.state = 'discarded' THEN now() - make_interval(secs => s.age) END,
       CASE WHEN s.state = 'cancelled' THEN now() - make_interval(secs => s.age) END,
       now() - make_interval(secs => s.age + 1),
       0
  FROM generate_series(1, %(n)s) AS g
 CROSS JOIN LATERAL (SELECT
       CASE WHEN g %% 1000 < 20 THEN 'available'
            WHEN g %% 1000 < 30 THEN 'scheduled'
            WHEN g %% 1000 < 40 THEN 'retryable'
            WHEN g %% 1000 < 50 THEN 'discarded'
            WHEN g %% 1000 < 55 THEN 'cancelled'
            ELSE 'completed' END AS state,
       ((g::bigint * 7919) %% (14 * 86400))::float8 AS age) s
"""

EXECUTING = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, attempted_at, attempted_by, inserted_at, uniq_states)
SELECT 'executing', q, 'bench.workers.NoopWorker', '{}'::jsonb, '{}'::jsonb, '{}', '[]'::jsonb,
       1, 20, 0, now(), now(), ARRAY['other-node'], now(), 0
  FROM unnest(%s::text[]) AS q
"""

INNER_SELECT = """
SELECT id FROM jobs_job
 WHERE state = 'available' AND queue = 'default'
 ORDER BY priority, scheduled_at, id
 LIMIT 8
 FOR UPDATE SKIP LOCKED
"""
# A backlog in one queue (half its completed rows back to available: ~10 % of the table) while
# another served queue has nothing waiting.
BACKLOG_AND_EMPTY_QUEUE = """
UPDATE jobs_job SET state = 'available', completed_at = NULL, attempt = 0, attempted_by = NULL
 WHERE queue = 'default' AND state = 'completed' AND id % 2 = 0;
UPDATE jobs_job SET state = 'completed', completed_at = now()
 WHERE queue = 'email' AND state = 'available';
"""
NODE_COUNT = (
    f"SELECT 8 - count(*) FROM jobs_job WHERE state = 'executing' AND attempted_by[1] = '{NODE}'"
)
QUEUE_COUNT = "SELECT count(*) FROM jobs_job WHERE state = 'executing' AND queue = 'default'"


def fill(conn, n: int) -> float:
    started = time.monotonic()
    common.reset_jobs_tables(conn)
    for name, limit in QUEUES.items():
        conn.execute(
            'INSERT INTO jobs_queue (name, "limit", configured_limit, paused, updated_at) '
            "VALUES (%s, %s, %s, false, now())",
            [name, limit, limit],
        )
    conn.execute(FILL, {"n": n})
    conn.execute(EXECUTING, [list(QUEUES)])
    conn.execute("VACUUM ANALYZE jobs_job")
    return time.monotonic() - started


def explain(conn, statement: str) -> str:
    conn.execute("BEGIN")
    try:
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement).fetchall()
    finally:
        conn.execute("ROLLBACK")
    return "\n".join(row[0] for row in rows)


def nested_plans(conn) -> list[str]:
    """The plans PostgreSQL actually used inside jobs_claim(), via auto_explain sent to the
    client as LOG notices (nothing is written to the server log for this session)."""
    notices: list[str] = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    conn.execute("LOAD 'auto_explain'")
    for setting in (
        "log_min_duration = 0",
        "log_analyze = on",
        "log_buffers = on",
        "log_nested_statements = on",
        "log_timing = on",
    ):
        conn.execute(f"SET auto_explain.{setting}")
    conn.execute("SET client_min_messages = log")
    conn.execute("SET log_min_messages = panic")  # keep the server log clean
    queues = list(QUEUES)
    try:
        for start in range(8):  # past the plpgsql plan cache's 5 custom plans
            conn.execute("BEGIN")
            notices.clear()
            conn.execute("SELECT jobs_claim(%s, %s, %s::text[], %s)", [NODE, 8, queues, start])
            conn.execute("ROLLBACK")
    finally:
        conn.execute("SET auto_explain.log_min_duration = -1")
        conn.execute("RESET client_min_messages")
        conn.execute("RESET log_min_messages")
    return [n for n in notices if "Query Text" in n or "duration" in n]


def measure(conn, claims: int) -> dict:
    queues = list(QUEUES)
    times, counts = [], []
    for i in range(20 + claims):
        conn.execute("BEGIN")
        started = time.perf_counter()
        (result,) = conn.execute(
            "SELECT jobs_claim(%s, %s, %s::text[], %s)", [NODE, 8, queues, i]
        ).fetchone()
        elapsed = (time.perf_counter() - started) * 1000
        conn.execute("ROLLBACK")
        if i >= 20:
            times.append(elapsed)
            counts.append(len(result["jobs"]))
    return {"ms": times, "claimed": counts}


def _claim_functions(schema: str) -> str:
    """The CREATE statements of jobs_claim_ids() and jobs_claim() in a schema.sql text."""
    parts = []
    for name in ("jobs_claim_ids", "jobs_claim"):
        start = schema.index(f"CREATE OR REPLACE FUNCTION {name}(")
        end = schema.index("$$;", schema.index("AS $$", start)) + 3
        parts.append(schema[start:end])
    return "\n".join(parts)


def claim_function_at(revision: str | None) -> str:
    """The CREATE OR REPLACE of jobs_claim() (and what it calls) as of a git revision (None:
    this checkout): from schema.sql, or from sql.py's CLAIM_FUNCTION before schema.sql."""
    if revision is None:
        from workflows.jobs.store import sql

        return _claim_functions(sql.schema_source())
    schema = subprocess.run(
        ["git", "show", f"{revision}:workflows/jobs/store/schema.sql"],
        cwd=common.ROOT,
        capture_output=True,
        text=True,
    )
    if schema.returncode == 0:
        return _claim_functions(schema.stdout)
    source = subprocess.run(
        ["git", "show", f"{revision}:workflows/jobs/sql.py"],
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    namespace: dict = {}
    exec(compile(source, f"{revision}:workflows/jobs/sql.py", "exec"), namespace)
    return namespace["CLAIM_FUNCTION"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="leave the last fill in the table")
    parser.add_argument(
        "--compare-with",
        metavar="GIT_REV",
        help="also time the backlog + empty queue case with jobs_claim() as of GIT_REV",
    )
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    earlier_function = claim_function_at(args.compare_with) if args.compare_with else None
    compared: dict[int, list[float]] = {}

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(JOBS_DB)

    results = {}
    with common.connect(JOBS_DB) as conn:
        for n in sizes:
            seconds = fill(conn, n)
            states = dict(conn.execute("SELECT state, count(*) FROM jobs_job GROUP BY state"))
            m = measure(conn, args.claims)
            plans = {
                "claim_select": explain(conn, INNER_SELECT),
                "node_executing_count": explain(conn, NODE_COUNT),
                "queue_executing_count": explain(conn, QUEUE_COUNT),
            }
            # The same with a backlog in one queue and another served queue empty (its probe
            # must not read the table); ANALYZE without VACUUM, as between autovacuum runs.
            conn.execute(BACKLOG_AND_EMPTY_QUEUE)
            conn.execute("ANALYZE jobs_job")
            m_empty = measure(conn, args.claims)
            if earlier_function:
                conn.execute(earlier_function)
                try:
                    compared[n] = measure(conn, args.claims)["ms"]
                finally:
                    conn.execute(claim_function_at(None))
            results[n] = {
                "fill_seconds": seconds,
                "backlog_and_empty_median_ms": median(m_empty["ms"]),
                "backlog_and_empty_p99_ms": percentile(m_empty["ms"], 0.99),
                "states": states,
                "median_ms": median(m["ms"]),
                "p99_ms": percentile(m["ms"], 0.99),
                "jobs_per_claim": median(m["claimed"]),
                "plans": plans,
                "nested_plans": nested_plans(conn),
                "table_size": conn.execute(
                    "SELECT pg_size_pretty(pg_total_relation_size('jobs_job'))"
                ).fetchone()[0],
            }
            print(
                f"  {n:>9,} rows (filled in {seconds:.1f} s, {results[n]['table_size']}): "
                f"median {results[n]['median_ms']:.3f} ms, p99 {results[n]['p99_ms']:.3f} ms, "
                f"{results[n]['jobs_per_claim']:.0f} jobs per claim; backlog + empty queue: median "
                f"{results[n]['backlog_and_empty_median_ms']:.3f} ms",
                flush=True,
            )
        if not args.keep:
            common.reset_jobs_tables(conn)

    base = results[sizes[0]]["median_ms"]
    print()
    print(
        f"jobs_claim(node, 8, five queues, start) in its own transaction (rolled back), "
        f"{args.claims} calls per size:"
    )
    rows = []
    for n in sizes:
        r = results[n]
        ratio = r["median_ms"] / base
        rows.append(
            [
                f"{n:,}",
                r["table_size"],
                fmt(r["median_ms"], 3),
                fmt(r["p99_ms"], 3),
                f"{ratio:.2f}x",
                "met" if ratio <= 2 else "MISSED",
                fmt(r["backlog_and_empty_median_ms"], 3),
                fmt(r["backlog_and_empty_p99_ms"], 3),
            ]
        )
    print(
        common.table(
            [
                "jobs in table",
                "table+indexes",
                "median ms",
                "p99 ms",
                f"vs {sizes[0]:,}",
                "within 2x",
                "backlog + empty queue: median ms",
                "p99 ms",
            ],
            rows,
        )
    )
    if compared:
        print(f"\nbacklog + empty queue, jobs_claim() as of {args.compare_with} vs this checkout:")
        rows = [
            [
                f"{n:,}",
                fmt(median(compared[n]), 3),
                fmt(percentile(compared[n], 0.99), 3),
                fmt(results[n]["backlog_and_empty_median_ms"], 3),
                fmt(results[n]["backlog_and_empty_p99_ms"], 3),
            ]
            for n in sizes
        ]
        print(
            common.table(
                [
                    "jobs in table",
                    f"{args.compare_with} median ms",
                    "p99 ms",
                    "now: median ms",
                    "p99 ms",
                ],
                rows,
            )
        )
        for n in sizes:
            results[n]["compared_with"] = {
                "revision": args.compare_with,
                "median_ms": median(compared[n]),
                "p99_ms": percentile(compared[n], 0.99),
            }
    for n in sizes:
        print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) of the claim SELECT at {n:,} rows ---")
        print(results[n]["plans"]["claim_select"])
    path = common.save(
        "claim_scale",
        {"machine": info, "args": vars(args), "results": {str(k): v for k, v in results.items()}},
    )
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
