"""The retention run on million-row tables: how long it takes and the longest lock it holds.

    .venv/bin/python bench/retention.py [--audit 1000000] [--users 200000] [--posts 200000]

Fills (one INSERT ... SELECT generate_series each) the audit log with --audit entries, 60 %
older than the 6-year policy; --users accounts, half inactive for more than 5 years; --posts
posts, a quarter medical and older than 20 years. Then runs `compliance.retention.retention_run`
(the hourly job's service: batches of 1,000 rows per policy, each its own transaction, an audit
entry per batch) and a second run the same hour (must change nothing).

Meanwhile a load thread, every 10 ms, appends an audit entry (as a read of patient data does),
logs a user's activity and reads a post, timing each; a sampler watches pg_locks every 20 ms
for sessions waiting on a lock. Reported: time per run, rows changed per policy, batches, the
longest batch (= the longest time any row lock or the audit purge's lock is held), and the
load's latency during the run against a 5 s baseline.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import fmt, median, percentile

DATABASE = "bench_retention"

FILL_AUDIT = """
INSERT INTO compliance_auditlog (occurred_at, actor_label, action, object_type, object_id, details)
SELECT now() - make_interval(days => CASE WHEN g %% 10 < 6 THEN 2200 + g %% 400 ELSE g %% 2000 END),
       'system:bench', 'bench.event', 'content.post', (g %% 5000)::text, '{}'::jsonb
  FROM generate_series(1, %(n)s) g
"""
FILL_USERS = """
INSERT INTO accounts_user (password, last_login, is_superuser, email, full_name, role, crm,
                           is_active, is_staff, date_joined, last_activity_at, deleted_at)
SELECT '!', NULL, false, 'bench-' || g || '@example.test', 'Bench User ' || g, 'author', '',
       true, true, now() - interval '8 years',
       now() - make_interval(days => CASE WHEN g %% 2 = 0 THEN 1900 + g %% 300 ELSE g %% 1500 END),
       NULL
  FROM generate_series(1, %(n)s) g
"""
FILL_POSTS = """
INSERT INTO content_post (title, body, author_id, medical_category, phi_detected, lgpd_risk_score,
                          workflow_status, content_version, created_at, updated_at)
SELECT 'Bench post ' || g, 'Synthetic body.', %(author)s,
       CASE WHEN g %% 2 = 0 THEN 'cardiology' ELSE 'none' END, false, 0, 'approved', 1,
       now() - make_interval(days => CASE WHEN g %% 4 < 2 THEN 7400 + g %% 300 ELSE g %% 5000 END),
       now()
  FROM generate_series(1, %(n)s) g
"""


def fill(conn, *, audit: int, users: int, posts: int) -> float:
    started = time.monotonic()
    conn.execute("ALTER TABLE compliance_auditlog DISABLE TRIGGER compliance_auditlog_append_only")
    conn.execute("DELETE FROM compliance_auditlog")
    conn.execute("ALTER TABLE compliance_auditlog ENABLE TRIGGER compliance_auditlog_append_only")
    conn.execute("TRUNCATE content_post, compliance_retentionrun CASCADE")
    conn.execute("DELETE FROM accounts_user WHERE email LIKE 'bench-%%'")
    conn.execute(FILL_USERS, {"n": users})
    (author,) = conn.execute(
        "INSERT INTO accounts_user (password, is_superuser, email, full_name, role, crm, is_active,"
        " is_staff, date_joined, last_activity_at) VALUES ('!', false, 'bench-author@example.test',"
        " 'Author', 'author', '', true, true, now(), now()) RETURNING id"
    ).fetchone()
    conn.execute(FILL_POSTS, {"n": posts, "author": author})
    conn.execute(FILL_AUDIT, {"n": audit})
    for table in ("compliance_auditlog", "accounts_user", "content_post"):
        conn.execute(f"VACUUM ANALYZE {table}")
    conn.execute("CHECKPOINT")
    return time.monotonic() - started


class Load(threading.Thread):
    """An audit append, an activity update and a post read every 10 ms, each timed."""

    def __init__(self):
        super().__init__(daemon=True)
        self.halt = threading.Event()
        self.phase = "baseline"
        self.samples: dict[tuple[str, str], list[float]] = {}

    def _timed(self, conn, name: str, statement: str, params=()) -> None:
        started = time.perf_counter()
        conn.execute(statement, params)
        self.samples.setdefault((name, self.phase), []).append(
            (time.perf_counter() - started) * 1000
        )

    def run(self) -> None:
        with common.connect(DATABASE) as conn:
            (user_id,) = conn.execute("SELECT max(id) FROM accounts_user").fetchone()
            (post_id,) = conn.execute("SELECT max(id) FROM content_post").fetchone()
            while not self.halt.wait(0.01):
                self._timed(
                    conn,
                    "audit append",
                    "INSERT INTO compliance_auditlog (occurred_at, actor_label, action, "
                    "object_type, object_id, details) VALUES (now(), 'bench', "
                    "'post.read_phi', 'content.post', '1', '{}')",
                )
                self._timed(
                    conn,
                    "activity update",
                    "UPDATE accounts_user SET last_activity_at = now() WHERE id = %s",
                    [user_id],
                )
                self._timed(
                    conn, "post read", "SELECT * FROM content_post WHERE id = %s", [post_id]
                )


class LockWatch(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.halt = threading.Event()
        self.samples = 0
        self.waiting = 0

    def run(self) -> None:
        with common.connect(DATABASE) as conn:
            while not self.halt.wait(0.02):
                (waiting,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                    "AND wait_event_type = 'Lock'",
                    [DATABASE],
                ).fetchone()
                self.samples += 1
                self.waiting += bool(waiting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--posts", type=int, default=200_000)
    args = parser.parse_args()

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(DATABASE)
    common.setup_django(DATABASE)
    from django.db import connection

    from compliance.retention import retention_run

    with common.connect(DATABASE) as conn:
        filled = fill(conn, audit=args.audit, users=args.users, posts=args.posts)
    print(
        f"filled in {filled:.1f} s: {args.audit:,} audit entries, {args.users:,} users, "
        f"{args.posts:,} posts"
    )

    load, locks = Load(), LockWatch()
    load.start()
    time.sleep(5)
    load.phase = "retention"
    locks.start()
    started = time.monotonic()
    first = retention_run()
    first_seconds = time.monotonic() - started
    locks.halt.set()
    load.phase = "second run"
    started = time.monotonic()
    second = retention_run()
    second_seconds = time.monotonic() - started
    load.halt.set()
    load.join()
    locks.join()
    connection.close()

    print("\nRetention run (batches of 1,000 rows per policy, each its own transaction):")
    print(
        common.table(
            ["", "first run", "second run (same hour)"],
            [
                ["time", f"{first_seconds:.1f} s", f"{second_seconds:.2f} s"],
                *[
                    [
                        f"rows changed: {policy}",
                        fmt(first.counts.get(policy, 0)),
                        fmt(second.counts.get(policy, 0)),
                    ]
                    for policy in sorted(first.counts)
                ],
                ["batches (transactions)", fmt(first.batches), fmt(second.batches)],
                [
                    "longest batch = longest lock held",
                    f"{first.longest_batch_ms} ms",
                    f"{second.longest_batch_ms} ms",
                ],
            ],
        )
    )
    print(
        f"lock waits seen by the sampler during the first run: {locks.waiting} of "
        f"{locks.samples} samples (every 20 ms)"
    )
    print("\nConcurrent load every 10 ms, latency in ms:")
    rows = []
    for (name, phase), values in sorted(load.samples.items()):
        rows.append(
            [
                name,
                phase,
                len(values),
                f"{median(values):.2f}",
                f"{percentile(values, 0.99):.2f}",
                f"{max(values):.1f}",
            ]
        )
    print(common.table(["statement", "phase", "n", "p50", "p99", "max"], rows))
    path = common.save(
        "retention",
        {
            "machine": info,
            "args": vars(args),
            "fill_seconds": filled,
            "first": {
                "seconds": first_seconds,
                "counts": first.counts,
                "batches": first.batches,
                "longest_batch_ms": first.longest_batch_ms,
            },
            "second": {
                "seconds": second_seconds,
                "counts": second.counts,
                "batches": second.batches,
            },
            "lock_wait_samples": [locks.waiting, locks.samples],
            "load": {f"{name}/{phase}": values for (name, phase), values in load.samples.items()},
        },
    )
    print(f"\nsaved {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
