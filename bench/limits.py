"""What rate limits and partitions cost: the claim's time and a real node's drain rate, for a
queue without either, with a rate limit, with 1,000 partitions and with both, side by side in
one run; the claim also against main's jobs_claim() (a007fd3) on the same table.

    .venv/bin/python bench/limits.py [--rows 100000] [--claims 200] [--jobs 3000] [--runs 1]

Claim: the `default` queue holds --rows available jobs spread over 1,000 authors (args
author_id); each measurement is one `SELECT jobs_claim(node, 8, ARRAY['default'], 0)` in its
own transaction, rolled back (so the table and the rate window stay the same), client round
trip on loopback. The configurations alternate in rounds so the shared machine weighs on all
alike. "main" is a007fd3's jobs_claim() installed beside this one as jobs_claim_main.
The rate limit never binds (1,000,000 per second): what is measured is its bookkeeping; the
partition limit is 1 per author, so a claim of 8 visits 8 partitions.

Drain: bench/throughput.py's engine run (a real qcluster, 4 workers, prefetch 12, no-op jobs
inserted in one transaction) with JOBS_RATE_LIMITS / JOBS_PARTITIONS set for `default`.
Results: bench/results/limits.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_JOBS_DB", "limits_bench")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common, throughput
from bench.claim_scale import claim_function_at
from bench.common import JOBS_DB, fmt, median, percentile

MAIN = "a007fd3"
RATE = '{"allowed": 1000000, "period_seconds": 1}'
PARTITION = '{"keys": ["author_id"], "by_worker": false, "limit": 1}'
CONFIGS = {
    "main (a007fd3), no limits": ("jobs_claim_main", None, None),
    "this, no limits": ("jobs_claim", None, None),
    "this, rate limit": ("jobs_claim", RATE, None),
    "this, 1,000 partitions": ("jobs_claim", None, PARTITION),
    "this, rate + 1,000 partitions": ("jobs_claim", RATE, PARTITION),
}
DRAINS = {
    "no limits": {},
    "rate limit 1000000/1": {"JOBS_RATE_LIMITS": "default=1000000/1"},
    "1,000 partitions, limit 1": {
        "JOBS_PARTITIONS": "default=author_id:1",
        "BENCH_AUTHORS": "1000",
    },
    "rate + 1,000 partitions": {
        "JOBS_RATE_LIMITS": "default=1000000/1",
        "JOBS_PARTITIONS": "default=author_id:1",
        "BENCH_AUTHORS": "1000",
    },
}


def fill(conn, rows: int) -> None:
    common.reset_jobs_tables(conn)
    conn.execute(
        'INSERT INTO jobs_queue (name, "limit", configured_limit, paused, updated_at) '
        "VALUES ('default', 100, 100, false, now())"
    )
    conn.execute(
        """
        INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt,
                              max_attempts, priority, uniq_states, partition_key)
        SELECT 'available', 'default', 'bench.workers.NoopWorker',
               jsonb_build_object('author_id', g %% 1000), '{}', '{}', '[]', 0, 20, 0, 0,
               jobs_partition_key(%s::jsonb, jsonb_build_object('author_id', g %% 1000),
                                  'bench.workers.NoopWorker')
          FROM generate_series(1, %s) g
        """,
        [PARTITION, rows],
    )
    conn.execute("VACUUM ANALYZE jobs_job")
    main = claim_function_at(MAIN)
    main = main[main.index("CREATE OR REPLACE FUNCTION jobs_claim(") :]
    conn.execute(main.replace("FUNCTION jobs_claim(", "FUNCTION jobs_claim_main(", 1))


def time_claims(conn, function: str, rate, partition, claims: int) -> tuple[list[float], int]:
    conn.execute(
        "UPDATE jobs_queue SET rate_limit = %s::jsonb, partition = %s::jsonb "
        "WHERE name = 'default'",
        [rate, partition],
    )
    times, claimed = [], 0
    for i in range(claims):
        conn.execute("BEGIN")
        started = time.perf_counter()
        (result,) = conn.execute(
            f"SELECT {function}(%s, 8, ARRAY['default'], 0)", [f"bench-node-{i % 4}"]
        ).fetchone()
        times.append((time.perf_counter() - started) * 1000)
        conn.execute("ROLLBACK")
        claimed += len(result["jobs"])
    return times, claimed


INSERT_ONE = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, uniq_states)
VALUES ('available', 'default', 'bench.workers.NoopWorker', jsonb_build_object('author_id', %s),
        '{}', '{}', '[]', 0, 20, 0, 0)
"""
INSERT_BATCH = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, uniq_states)
SELECT 'available', 'default', 'bench.workers.NoopWorker', jsonb_build_object('author_id', g),
       '{}', '{}', '[]', 0, 20, 0, 0 FROM generate_series(1, %s) g
"""
INSERTS = {
    "without the key trigger (as main)": (False, None),
    "unpartitioned queue": (True, None),
    "partitioned queue": (True, PARTITION),
}


def time_inserts(conn, trigger: bool, partition, n: int) -> tuple[list[float], float]:
    """n one-row inserts, each its own transaction (ms each), then one 5,000-row INSERT (ms);
    all rolled back."""
    conn.execute(
        "UPDATE jobs_queue SET rate_limit = NULL, partition = %s::jsonb WHERE name = 'default'",
        [partition],
    )
    toggle = "ENABLE" if trigger else "DISABLE"
    conn.execute(f"ALTER TABLE jobs_job {toggle} TRIGGER jobs_job_key_insert")
    times = []
    for i in range(n):
        conn.execute("BEGIN")
        started = time.perf_counter()
        conn.execute(INSERT_ONE, [i % 1000])
        times.append((time.perf_counter() - started) * 1000)
        conn.execute("ROLLBACK")
    conn.execute("BEGIN")
    started = time.perf_counter()
    conn.execute(INSERT_BATCH, [5000])
    batch = (time.perf_counter() - started) * 1000
    conn.execute("ROLLBACK")
    conn.execute("ALTER TABLE jobs_job ENABLE TRIGGER jobs_job_key_insert")
    return times, batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(JOBS_DB)

    samples: dict[str, list[float]] = {name: [] for name in CONFIGS}
    claimed: dict[str, int] = dict.fromkeys(CONFIGS, 0)
    with common.connect(JOBS_DB) as conn:
        fill(conn, args.rows)
        for config in CONFIGS.values():  # warm-up
            time_claims(conn, *config, claims=20)
        for _ in range(args.rounds):
            for name, config in CONFIGS.items():
                times, count = time_claims(conn, *config, claims=args.claims // args.rounds)
                samples[name] += times
                claimed[name] += count
        inserts: dict[str, list[float]] = {name: [] for name in INSERTS}
        batches: dict[str, list[float]] = {name: [] for name in INSERTS}
        for _ in range(args.rounds):
            for name, config in INSERTS.items():
                times, batch = time_inserts(conn, *config, n=100)
                inserts[name] += times
                batches[name].append(batch)
    print(f"\nclaim: {args.rows:,} available jobs over 1,000 authors, room for 8 per claim")
    rows = [
        [
            name,
            fmt(median(samples[name]), 3),
            fmt(percentile(samples[name], 0.99), 3),
            fmt(claimed[name] / len(samples[name]), 1),
        ]
        for name in CONFIGS
    ]
    print(common.table(["jobs_claim()", "median ms", "p99 ms", "jobs per claim"], rows))

    print("\ninsert (statement inside BEGIN ... ROLLBACK; the commit is not timed)")
    rows = [
        [name, fmt(median(inserts[name]), 3), fmt(median(batches[name]), 1)] for name in INSERTS
    ]
    print(common.table(["insert into default", "one row: median ms", "5,000 rows: ms"], rows))

    drains: dict[str, list[dict]] = {name: [] for name in DRAINS}
    for _ in range(args.runs):
        for name, env in DRAINS.items():
            drains[name].append(throughput.run_engine(args.jobs, None, None, None, extra_env=env))
    print(f"\ndrain: {args.jobs:,} no-op jobs, one qcluster (4 workers, prefetch 12)")
    rows = [
        [
            name,
            fmt(median([r["rate"] for r in drains[name]])),
            "yes" if any(r.get("anomaly") for r in drains[name]) else "no",
        ]
        for name in DRAINS
    ]
    print(common.table(["queue default", "jobs/s", "anomaly"], rows))
    common.save(
        "limits",
        {
            "machine": info,
            "args": vars(args),
            "claim_ms": {
                name: {
                    "median": median(samples[name]),
                    "p99": percentile(samples[name], 0.99),
                    "jobs_per_claim": claimed[name] / len(samples[name]),
                }
                for name in CONFIGS
            },
            "insert_ms": {
                name: {"one_row_median": median(inserts[name]), "batch_5000": median(batches[name])}
                for name in INSERTS
            },
            "drain": drains,
        },
    )


if __name__ == "__main__":
    main()
