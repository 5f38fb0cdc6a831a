"""Drain throughput of no-op jobs: this engine through a real `manage.py qcluster`, side by side
with stock django-q2 (ORM broker), procrastinate 3.10, pgqueuer 1.6 (both its drivers, psycopg and
asyncpg, at the settings of its own benchmark: 5 dequeuers, batches of 10, uvloop) and pgbench's
simple-update ceiling, all on the same PostgreSQL server.

    .venv/bin/python bench/throughput.py --engine 4:12 --engine 8:24 --djangoq-lean \
        --engine-queues medical_workflow=10,lgpd_analysis=5,compliance_check=3,email=5,default=100
                                                   # the comparison (3-10 minutes)
    .venv/bin/python bench/throughput.py --sweep --jobs 6000 --runs 2   # engine settings sweep
    .venv/bin/python bench/throughput.py --only engine --engine 8:16 --profile

Method (identical for the three queues): start the cluster/worker and wait until it has run a
few warm-up jobs (so it is up and idle); insert the N timed jobs in ONE transaction; t0 = when
that commit returned; the drain ends at the last job's completion time as recorded in the
database (engine: max(completed_at); procrastinate: last 'succeeded' event; pgqueuer: newest
'successful' row of its log table; django-q2: the poll
that sees its queue table empty, 50 ms resolution). rate = N / (end - t0). Each run starts a
fresh cluster on freshly truncated tables. Medians of --runs runs.

CPU columns: CPU seconds per 1,000 jobs by process role during the drain (psutil), the
machine has 2 cores, so "total" close to 2 x elapsed means CPU-bound.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import (
    DJANGOQ_DB,
    JOBS_DB,
    PGBENCH_DB,
    PGQUEUER_DB,
    PROCRASTINATE_DB,
    PYTHON,
    ROOT,
    CpuMeter,
    Subprocess,
    fmt,
    median,
    postgres_label,
)

WARMUP_JOBS = 20
DRAIN_TIMEOUT_SECONDS = 600


# --- enqueue helpers: run in a subprocess configured for the system under test ----------------
def _enqueue_engine(n: int) -> dict:
    common.setup_django(JOBS_DB)
    from django.db import transaction

    from bench import workers
    from workflows.jobs import insert_all

    worker = getattr(workers, os.environ.get("BENCH_WORKER", "NoopWorker"))
    authors = int(os.environ.get("BENCH_AUTHORS", "0"))  # bench/limits.py: partitioned args
    jobs = [
        worker.new({"n": i, **({"author_id": i % authors} if authors else {})}) for i in range(n)
    ]
    started = time.time()
    with transaction.atomic():
        insert_all(jobs)
    return {"insert_started": started, "committed": time.time()}


def _enqueue_djangoq(n: int) -> dict:
    import django

    django.setup()
    from django.db import transaction
    from django_q.tasks import async_task

    started = time.time()
    with transaction.atomic():
        for _ in range(n):
            async_task("bench.djangoq_tasks.noop")
    return {"insert_started": started, "committed": time.time()}


def _enqueue_procrastinate(n: int) -> dict:
    from bench.procrastinate_app import app, noop

    with app.open():
        started = time.time()
        noop.batch_defer(*[{} for _ in range(n)])
        committed = time.time()
    return {"insert_started": started, "committed": committed}


ENQUEUERS = {
    "engine": _enqueue_engine,
    "djangoq": _enqueue_djangoq,
    "procrastinate": _enqueue_procrastinate,
}


def enqueue(system: str, n: int, env: dict) -> dict:
    out = subprocess.run(
        [PYTHON, str(Path(__file__).resolve()), "--enqueue", system, str(n)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"enqueue {system} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- waiting for a drain ----------------------------------------------------------------------
def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def cluster_roles(proc: Subprocess) -> dict[int, str]:
    """pid -> role of a django-q2 cluster tree: main, sentinel, pusher, monitor, worker.
    Pusher and monitor are told apart from workers by one py-spy dump each."""
    roles = {proc.pid: "main (+ supervisor thread)"}
    tree = proc.tree()
    children = [p for p in tree if p.ppid() == proc.pid]
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    for child in children:
        grandchildren = [p for p in tree if p.ppid() == child.pid]
        if not grandchildren:
            roles[child.pid] = "other"
            continue
        roles[child.pid] = "sentinel"
        for grandchild in grandchildren:
            role = "worker"
            try:
                dump = subprocess.run(
                    [spy, "dump", "--pid", str(grandchild.pid)],
                    capture_output=True,
                    text=True,
                    timeout=20,
                ).stdout
                # The engine's own loops (runner/processes.py), or django-q2's before them.
                if "push_claimed_tasks" in dump or "pusher.py" in dump:
                    role = "pusher (claims)"
                elif "monitor.py" in dump:
                    role = "monitor"
            except (OSError, subprocess.SubprocessError):
                pass
            roles[grandchild.pid] = role
    return roles


def meter_for(proc: Subprocess, roles: dict[int, str], database: str) -> CpuMeter:
    def classify(p):
        if p.pid in roles:
            return roles[p.pid]
        label = postgres_label(p, database)
        if label:
            return label
        try:
            ancestors = {a.pid for a in p.parents()}
        except Exception:
            return None
        if proc.pid in ancestors:
            return "worker"  # a recycled worker, born during the run
        return None

    return CpuMeter(classify)


def db_counters(conn) -> dict:
    """Cumulative counters of the database (pg_stat_database; jobs_claim() calls and time
    from pg_stat_user_functions, which needs track_functions = all on bench_jobs)."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    commits, rollbacks, updated, inserted = conn.execute(
        "SELECT xact_commit, xact_rollback, tup_updated, tup_inserted FROM pg_stat_database "
        "WHERE datname = current_database()"
    ).fetchone()
    claim = conn.execute(
        "SELECT coalesce(sum(calls), 0), coalesce(sum(total_time), 0) "
        "FROM pg_stat_user_functions WHERE funcname = 'jobs_claim'"
    ).fetchone()
    return {
        "commits": commits,
        "rollbacks": rollbacks,
        "tup_updated": updated,
        "tup_inserted": inserted,
        "claim_calls": int(claim[0]),
        "claim_ms": float(claim[1]),
    }


# --- one run of each system -------------------------------------------------------------------
def run_engine(
    n: int,
    concurrency: int | None,
    prefetch: int | None,
    queues: str | None,
    profile: bool = False,
    verify: bool = False,
    settings: str | None = None,
    async_commit: bool = False,
    extra_env: dict[str, str] | None = None,
) -> dict:
    env = dict(extra_env or {})
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = settings
    if verify:
        env["BENCH_WORKER"] = "CountingWorker"
        from bench.workers import EXECUTIONS_TABLE

        with common.connect(JOBS_DB) as conn:
            conn.execute(EXECUTIONS_TABLE)
            conn.execute("TRUNCATE bench_executions")
    if concurrency is not None:
        env["JOBS_NODE_CONCURRENCY"] = str(concurrency)
    if prefetch is not None:
        env["JOBS_PREFETCH"] = str(prefetch)
    if queues:
        env["JOBS_QUEUES"] = queues
    with common.connect(JOBS_DB) as conn:
        common.reset_jobs_tables(conn)
        # what-if: no WAL flush wait at commit for every session of bench_jobs
        conn.execute(
            f"ALTER DATABASE {JOBS_DB} "
            + ("SET synchronous_commit = off" if async_commit else "RESET synchronous_commit")
        )
    cluster = common.engine_cluster(JOBS_DB, **env).start()
    enqueue_env = common.base_env(JOBS_DB, **env)
    try:
        cluster.wait_for_output(" ready:")
        with common.connect(JOBS_DB) as conn:

            def unfinished():
                return conn.execute(
                    "SELECT count(*) FROM jobs_job WHERE state IN "
                    "('available', 'executing', 'scheduled', 'retryable')"
                ).fetchone()[0]

            enqueue("engine", WARMUP_JOBS, enqueue_env)
            wait_until(lambda: unfinished() == 0, 60, what="engine warm-up")
            roles = cluster_roles(cluster)
            profiler = start_profiler(cluster) if profile else None
            before = db_counters(conn)
            with meter_for(cluster, roles, JOBS_DB) as meter:
                times = enqueue("engine", n, enqueue_env)
                wait_until(
                    lambda: unfinished() == 0,
                    DRAIN_TIMEOUT_SECONDS,
                    interval=0.1,
                    what="engine drain",
                )
            after = db_counters(conn)
            if profiler:
                stop_profiler(profiler)
            end = conn.execute(
                "SELECT extract(epoch FROM max(completed_at)) FROM jobs_job"
            ).fetchone()[0]
            states = dict(conn.execute("SELECT state, count(*) FROM jobs_job GROUP BY state"))
            attempts = conn.execute(
                "SELECT count(*) FILTER (WHERE attempt <> 1), "
                "count(*) FILTER (WHERE errors <> '[]'::jsonb) FROM jobs_job"
            ).fetchone()
            if verify:
                executions = conn.execute(
                    "SELECT count(*), count(DISTINCT job_id), "
                    "(SELECT count(*) FROM jobs_job j WHERE NOT EXISTS "
                    " (SELECT 1 FROM bench_executions e WHERE e.job_id = j.id)) "
                    "FROM bench_executions"
                ).fetchone()
    finally:
        cluster.stop()
        if async_commit:
            with common.connect(JOBS_DB) as conn:
                conn.execute(f"ALTER DATABASE {JOBS_DB} RESET synchronous_commit")
    elapsed = float(end) - times["committed"]
    result = {
        "system": "engine",
        "jobs": n,
        "seconds": elapsed,
        "rate": n / elapsed,
        "cpu": meter.totals(),
        "states": states,
        "attempt_not_1": attempts[0],
        "with_errors": attempts[1],
        "stopped_cleanly": cluster.stopped_cleanly,
        "stop_seconds": cluster.stop_seconds,
        "foreign_cpu": meter.foreign(),
        "db": {key: after[key] - before[key] for key in after},
    }
    if verify:
        result["executions"] = {
            "total": executions[0],
            "distinct_jobs": executions[1],
            "never_ran": executions[2],
        }
        if executions[0] != executions[1] or executions[2]:
            result["anomaly"] = True
    if states.get("completed") != n + WARMUP_JOBS or attempts[0] or attempts[1]:
        result["anomaly"] = True
        result["log_tail"] = cluster.output()[-2000:]
    cluster.cleanup()
    return result


def run_djangoq(n: int, workers: int, save_limit: int | None = None) -> dict:
    extra = {"BENCH_DJANGOQ_WORKERS": str(workers)}
    if save_limit is not None:
        extra["BENCH_DJANGOQ_SAVE_LIMIT"] = str(save_limit)
    env = common.base_env(DJANGOQ_DB, settings="bench.djangoq_settings", **extra)
    with common.connect(DJANGOQ_DB) as conn:
        conn.execute("TRUNCATE django_q_ormq, django_q_task")
    cluster = Subprocess([PYTHON, "manage.py", "qcluster"], env, label="djangoq").start()
    try:
        with common.connect(DJANGOQ_DB) as conn:

            def queued():
                return conn.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0]

            time.sleep(1.0)
            enqueue("djangoq", 4, env)
            wait_until(lambda: queued() == 0, 90, what="django-q2 warm-up")
            roles = cluster_roles(cluster)
            with meter_for(cluster, roles, DJANGOQ_DB) as meter:
                times = enqueue("djangoq", n, env)
                wait_until(
                    lambda: queued() == 0,
                    DRAIN_TIMEOUT_SECONDS,
                    interval=0.05,
                    what="django-q2 drain",
                )
                end = time.time()
            saved = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE success) FROM django_q_task"
            ).fetchone()
    finally:
        cluster.stop()
    elapsed = end - times["committed"]
    result = {
        "system": "django-q2",
        "jobs": n,
        "seconds": elapsed,
        "rate": n / elapsed,
        "cpu": meter.totals(),
        "task_rows": saved,
        "stopped_cleanly": cluster.stopped_cleanly,
        "foreign_cpu": meter.foreign(),
    }
    cluster.cleanup()
    return result


def run_procrastinate(n: int, concurrency: int) -> dict:
    env = common.base_env(PROCRASTINATE_DB, BENCH_PROCRASTINATE_CONCURRENCY=str(concurrency))
    with common.connect(PROCRASTINATE_DB) as conn:
        conn.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_workers CASCADE"
        )
    worker = Subprocess(
        [PYTHON, "-m", "bench.procrastinate_app", str(concurrency)], env, label="procrastinate"
    ).start()
    try:
        with common.connect(PROCRASTINATE_DB) as conn:

            def unfinished():
                return conn.execute(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                ).fetchone()[0]

            worker.wait_for_output("procrastinate worker starting")
            enqueue("procrastinate", WARMUP_JOBS, env)
            wait_until(lambda: unfinished() == 0, 60, what="procrastinate warm-up")
            roles = {worker.pid: "worker process (asyncio)"}
            with meter_for(worker, roles, PROCRASTINATE_DB) as meter:
                times = enqueue("procrastinate", n, env)
                wait_until(
                    lambda: unfinished() == 0,
                    DRAIN_TIMEOUT_SECONDS,
                    interval=0.1,
                    what="procrastinate drain",
                )
            end = conn.execute(
                "SELECT extract(epoch FROM max(at)) FROM procrastinate_events "
                "WHERE type = 'succeeded'"
            ).fetchone()[0]
            states = dict(
                conn.execute(
                    "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"
                )
            )
    finally:
        worker.stop()
    elapsed = float(end) - times["committed"]
    result = {
        "system": "procrastinate",
        "jobs": n,
        "seconds": elapsed,
        "rate": n / elapsed,
        "cpu": meter.totals(),
        "states": states,
        "stopped_cleanly": worker.stopped_cleanly,
        "foreign_cpu": meter.foreign(),
    }
    worker.cleanup()
    return result


PGQUEUER_DRIVERS = {"psy": "psycopg", "apg": "asyncpg"}


def _pgqueuer(command: str, driver: str, *args: str) -> str:
    out = subprocess.run(
        [PYTHON, "-m", "bench.pgqueuer_app", command, driver, *args],
        cwd=ROOT,
        env=common.base_env(PGQUEUER_DB),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"pgqueuer {command} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def run_pgqueuer(n: int, driver: str) -> dict:
    """pgqueuer 1.6 with its own benchmark's settings (bench/pgqueuer_app.py)."""
    env = common.base_env(PGQUEUER_DB)
    with common.connect(PGQUEUER_DB) as conn:
        conn.execute("TRUNCATE pgqueuer, pgqueuer_log, pgqueuer_statistics")
    worker = Subprocess(
        [PYTHON, "-m", "bench.pgqueuer_app", "worker", driver], env, label=f"pgqueuer-{driver}"
    ).start()
    try:
        with common.connect(PGQUEUER_DB) as conn:

            def waiting():
                return conn.execute("SELECT count(*) FROM pgqueuer").fetchone()[0]

            worker.wait_for_output("pgqueuer worker starting")
            json.loads(_pgqueuer("enqueue", driver, str(WARMUP_JOBS)).splitlines()[-1])
            wait_until(lambda: waiting() == 0, 60, what="pgqueuer warm-up")
            conn.execute("TRUNCATE pgqueuer_log")
            roles = {worker.pid: f"worker process (uvloop, {PGQUEUER_DRIVERS[driver]})"}
            with meter_for(worker, roles, PGQUEUER_DB) as meter:
                times = json.loads(_pgqueuer("enqueue", driver, str(n)).splitlines()[-1])
                wait_until(
                    lambda: waiting() == 0,
                    DRAIN_TIMEOUT_SECONDS,
                    interval=0.1,
                    what="pgqueuer drain",
                )
            # its completion log is written in buffered batches: wait until all n are there
            wait_until(
                lambda: (
                    conn.execute(
                        "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'"
                    ).fetchone()[0]
                    >= n
                ),
                60,
                what="pgqueuer completion log",
            )
            end, successful = conn.execute(
                "SELECT extract(epoch FROM max(created)), count(*) FROM pgqueuer_log "
                "WHERE status = 'successful'"
            ).fetchone()
    finally:
        worker.stop()
    elapsed = float(end) - times["committed"]
    result = {
        "system": f"pgqueuer {PGQUEUER_DRIVERS[driver]}",
        "jobs": n,
        "seconds": elapsed,
        "rate": n / elapsed,
        "cpu": meter.totals(),
        "states": {"successful": successful},
        "stopped_cleanly": worker.stopped_cleanly,
        "foreign_cpu": meter.foreign(),
    }
    worker.cleanup()
    return result


def pgbench_binary() -> str:
    return shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"


def run_pgbench(seconds: int, clients: int) -> dict:
    args = ["-h", common.PG_HOST, "-p", common.PG_PORT, "-U", common.PG_USER]
    out = subprocess.run(
        [
            pgbench_binary(),
            *args,
            "-n",
            "-N",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            PGBENCH_DB,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tps = next(
        float(line.split("=")[1].split()[0])
        for line in out.splitlines()
        if line.startswith("tps =")
    )
    return {"system": "pgbench -N", "clients": clients, "seconds": seconds, "rate": tps}


# --- setup ------------------------------------------------------------------------------------
def prepare(systems: set[str]) -> None:
    if "engine" in systems:
        common.migrate_jobs_database(JOBS_DB)
        with common.connect(JOBS_DB) as conn:  # jobs_claim() calls and time, new sessions on
            conn.execute(f"ALTER DATABASE {JOBS_DB} SET track_functions = 'all'")
    if "djangoq" in systems:
        common.ensure_database(DJANGOQ_DB)
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            check=True,
            env=common.base_env(DJANGOQ_DB, settings="bench.djangoq_settings"),
            stdout=subprocess.DEVNULL,
        )
    if "procrastinate" in systems:
        common.ensure_database(PROCRASTINATE_DB)
        with common.connect(PROCRASTINATE_DB) as conn:
            ready = conn.execute(
                "SELECT to_regclass('public.procrastinate_jobs') IS NOT NULL"
            ).fetchone()[0]
        if not ready:
            subprocess.run(
                [
                    PYTHON,
                    "-m",
                    "procrastinate",
                    "--app=bench.procrastinate_app.app",
                    "schema",
                    "--apply",
                ],
                cwd=ROOT,
                env=common.base_env(PROCRASTINATE_DB),
                check=True,
                stdout=subprocess.DEVNULL,
            )
    if "pgqueuer" in systems:
        common.ensure_database(PGQUEUER_DB)
        with common.connect(PGQUEUER_DB) as conn:
            ready = conn.execute("SELECT to_regclass('public.pgqueuer') IS NOT NULL").fetchone()[0]
        if not ready:
            _pgqueuer("install", "psy")
    if "pgbench" in systems and common.ensure_database(PGBENCH_DB):
        subprocess.run(
            [
                pgbench_binary(),
                "-h",
                common.PG_HOST,
                "-p",
                common.PG_PORT,
                "-U",
                common.PG_USER,
                "-i",
                "-q",
                "-s",
                "10",
                PGBENCH_DB,
            ],
            check=True,
            capture_output=True,
        )


# --- profiling (optional) ---------------------------------------------------------------------
def start_profiler(cluster: Subprocess):
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    out = common.RESULTS / "throughput-profile.txt"
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(cluster.pid),
            "--subprocesses",
            "--format",
            "raw",
            "--rate",
            "100",
            *(["--idle"] if os.environ.get("BENCH_PROFILE_IDLE", "1") == "1" else []),
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler) -> None:
    import signal

    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.kill()


# --- report -----------------------------------------------------------------------------------
def cpu_rows(label: str, results: list[dict]) -> list[list]:
    totals: dict[str, list[float]] = {}
    for r in results:
        for role, seconds in r["cpu"].items():
            totals.setdefault(role, []).append(seconds / r["jobs"] * 1000)
    rows = [[label, role, fmt(median(v), 2)] for role, v in sorted(totals.items())]
    all_runs = [sum(r["cpu"].values()) / r["jobs"] * 1000 for r in results]
    wall = [r["seconds"] / r["jobs"] * 1000 for r in results]
    rows.append([label, "TOTAL cpu-s per 1,000 jobs", fmt(median(all_runs), 2)])
    rows.append([label, "wall-clock s per 1,000 jobs (x2 cores = capacity)", fmt(median(wall), 2)])
    return rows


def parse_config(text: str) -> tuple[int | None, int | None]:
    concurrency, _, prefetch = text.partition(":")
    return (int(concurrency) if concurrency else None, int(prefetch) if prefetch else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="engine jobs per run")
    parser.add_argument("--procrastinate-jobs", type=int, default=5_000)
    parser.add_argument("--pgqueuer-jobs", type=int, default=20_000)
    parser.add_argument("--djangoq-jobs", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=4, help="django-q2 workers and procrastinate concurrency"
    )
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        help="extra engine configs CONCURRENCY:PREFETCH (e.g. 8:16); the "
        "default config (settings as shipped: 4 workers, prefetch 12) always runs",
    )
    parser.add_argument(
        "--no-default",
        action="store_true",
        help="skip the engine's default config (run only --engine configs)",
    )
    parser.add_argument(
        "--engine-queues",
        default="",
        help="JOBS_QUEUES for the extra engine configs (default: settings')",
    )
    parser.add_argument("--only", default="engine,djangoq,procrastinate,pgqueuer,pgbench")
    parser.add_argument(
        "--djangoq-lean",
        action="store_true",
        help="also run django-q2 with save_limit=-1 (not stock: no Task rows)",
    )
    parser.add_argument(
        "--sweep", action="store_true", help="engine only: concurrency 2/4/8 x prefetch variants"
    )
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--pgbench-clients", type=int, default=4)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy record the engine cluster during its first extra-config "
        "run (bench/results/throughput-profile.txt)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="engine only, untimed: record every execution and check each job "
        "ran exactly once (CountingWorker)",
    )
    parser.add_argument(
        "--engine-settings",
        default=None,
        help="what-if: DJANGO_SETTINGS_MODULE of the engine cluster "
        "(e.g. bench.whatif_settings: no per-job health check)",
    )
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="what-if: synchronous_commit=off on bench_jobs during engine runs",
    )
    parser.add_argument(
        "--tag", default="", help="save to bench/results/throughput-TAG.json instead"
    )
    parser.add_argument("--enqueue", nargs=2, metavar=("SYSTEM", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.enqueue:
        system, n = args.enqueue
        print(json.dumps(ENQUEUERS[system](int(n))))
        return

    systems = set(args.only.split(","))
    info = common.machine()
    common.print_machine(info)
    prepare(systems)

    configs: list[tuple[str, int | None, int | None, str | None]] = []
    if args.verify:
        systems &= {"engine"}
    if args.sweep:
        systems = {"engine"}
        wide = "medical_workflow=10,lgpd_analysis=5,compliance_check=3,email=5,default=100"
        for concurrency in (2, 4, 8):
            for prefetch in (0, concurrency, 4 * concurrency):
                configs.append((f"{concurrency}:{prefetch}", concurrency, prefetch, wide))
    elif "engine" in systems:
        if not args.no_default:
            configs.append(("default settings (4 workers, prefetch 12)", None, None, None))
        for text in args.engine:
            concurrency, prefetch = parse_config(text)
            configs.append(
                (
                    f"{concurrency} workers, prefetch {prefetch}",
                    concurrency,
                    prefetch,
                    args.engine_queues or None,
                )
            )

    suffix = "".join(
        [
            " [no health check]"
            if args.engine_settings == "bench.whatif_settings"
            else (f" [{args.engine_settings}]" if args.engine_settings else ""),
            " [synchronous_commit=off]" if args.async_commit else "",
        ]
    )
    configs = [(label + suffix, *rest) for label, *rest in configs]
    results: dict[str, list[dict]] = {}
    profiled = False
    for label, concurrency, prefetch, queues in configs:
        key = f"engine {label}"
        for run in range(args.runs):
            profile = (
                args.profile and not profiled and (label != configs[0][0] or len(configs) == 1)
            )
            r = run_engine(
                args.jobs,
                concurrency,
                prefetch,
                queues,
                profile=profile,
                verify=args.verify,
                settings=args.engine_settings,
                async_commit=args.async_commit,
            )
            profiled = profiled or profile
            results.setdefault(key, []).append(r)
            flag = "  ANOMALY" if r.get("anomaly") else ""
            if "executions" in r:
                flag += (
                    f"  executions {r['executions']['total']} of "
                    f"{r['executions']['distinct_jobs']} jobs, never ran "
                    f"{r['executions']['never_ran']}"
                )
            print(
                f"  {key} run {run + 1}: {fmt(r['rate'])} jobs/s "
                f"({r['jobs']} in {r['seconds']:.2f} s){flag}",
                flush=True,
            )
    if "djangoq" in systems:
        for run in range(args.runs):
            r = run_djangoq(args.djangoq_jobs, args.workers)
            results.setdefault("django-q2 (stock ORM broker)", []).append(r)
            print(
                f"  django-q2 run {run + 1}: {fmt(r['rate'], 1)} jobs/s "
                f"({r['jobs']} in {r['seconds']:.2f} s)",
                flush=True,
            )
        if args.djangoq_lean:
            for run in range(args.runs):
                r = run_djangoq(args.djangoq_jobs, args.workers, save_limit=-1)
                results.setdefault("django-q2 (ORM broker, save_limit=-1, not stock)", []).append(r)
                print(
                    f"  django-q2 lean run {run + 1}: {fmt(r['rate'], 1)} jobs/s "
                    f"({r['jobs']} in {r['seconds']:.2f} s)",
                    flush=True,
                )
    if "procrastinate" in systems:
        for run in range(args.runs):
            r = run_procrastinate(args.procrastinate_jobs, args.workers)
            results.setdefault("procrastinate 3.10", []).append(r)
            print(
                f"  procrastinate run {run + 1}: {fmt(r['rate'])} jobs/s "
                f"({r['jobs']} in {r['seconds']:.2f} s)",
                flush=True,
            )
    if "pgqueuer" in systems:
        for driver, name in PGQUEUER_DRIVERS.items():
            for run in range(args.runs):
                r = run_pgqueuer(args.pgqueuer_jobs, driver)
                results.setdefault(f"pgqueuer 1.6 {name}", []).append(r)
                print(
                    f"  pgqueuer {name} run {run + 1}: {fmt(r['rate'])} jobs/s "
                    f"({r['jobs']} in {r['seconds']:.2f} s)",
                    flush=True,
                )
    if "pgbench" in systems:
        for run in range(args.runs):
            r = run_pgbench(args.pgbench_seconds, args.pgbench_clients)
            results.setdefault("pgbench -N (ceiling)", []).append(r)
            print(f"  pgbench run {run + 1}: {fmt(r['rate'])} tps", flush=True)

    medians = {key: median([r["rate"] for r in runs]) for key, runs in results.items()}
    print()
    print(
        f"Throughput, medians of {args.runs} runs (N = engine {args.jobs:,}, procrastinate "
        f"{args.procrastinate_jobs:,}, pgqueuer {args.pgqueuer_jobs:,}, django-q2 "
        f"{args.djangoq_jobs:,}; {args.workers} "
        f"workers/concurrency for the peers):"
    )
    rows = []
    for key, runs in results.items():
        rates = [r["rate"] for r in runs]
        unit = "tps" if key.startswith("pgbench") else "jobs/s"
        foreign = [r["foreign_cpu"] / r["seconds"] for r in runs if "foreign_cpu" in r]
        rows.append(
            [
                key,
                f"{fmt(medians[key], 1)} {unit}",
                ", ".join(fmt(x, 0) for x in rates),
                fmt(median(foreign), 2) if foreign else "n/a",
            ]
        )
    print(common.table(["system", "median", "runs", "other CPU load (cores busy)"], rows))

    djq = medians.get("django-q2 (stock ORM broker)")
    proc = medians.get("procrastinate 3.10")
    pgb = medians.get("pgbench -N (ceiling)")
    pgq_psy = medians.get("pgqueuer 1.6 psycopg")
    pgq_apg = medians.get("pgqueuer 1.6 asyncpg")
    engine_keys = [k for k in medians if k.startswith("engine")]
    if engine_keys:
        print()
        ratio_rows = []
        for key in engine_keys:
            value = medians[key]
            ratio_rows.append(
                [
                    key,
                    fmt(value / djq, 1) + "x" if djq else "n/a",
                    fmt(value / proc, 2) + "x" if proc else "n/a",
                    fmt(value / pgq_psy, 2) + "x" if pgq_psy else "n/a",
                    fmt(value / pgq_apg, 2) + "x" if pgq_apg else "n/a",
                    fmt(value / pgb, 2) + "x" if pgb else "n/a",
                ]
            )
        print(
            common.table(
                [
                    "engine config",
                    "/ django-q2 (target >= 15x)",
                    "/ procrastinate (target >= 1x)",
                    "/ pgqueuer psycopg (target >= 1x)",
                    "/ pgqueuer asyncpg (goal)",
                    "/ pgbench tps (target >= 0.7x)",
                ],
                ratio_rows,
            )
        )
        best = max(engine_keys, key=lambda k: medians[k])
        print(f"\nbest engine config: {best}: {fmt(medians[best], 1)} jobs/s")

    db_rows = []
    for key, runs in results.items():
        if runs and "db" in runs[0]:

            def per(field, runs=runs):
                return median([r["db"][field] / r["jobs"] for r in runs])

            claims = median([r["db"]["claim_calls"] for r in runs])
            db_rows.append(
                [
                    key,
                    fmt(per("commits"), 2),
                    fmt(per("claim_calls"), 3),
                    fmt(median([r["jobs"] / max(1, r["db"]["claim_calls"]) for r in runs]), 2),
                    fmt(
                        median(
                            [r["db"]["claim_ms"] / max(1, r["db"]["claim_calls"]) for r in runs]
                        ),
                        3,
                    ),
                    fmt(claims, 0),
                ]
            )
    if db_rows:
        print(
            "\nEngine database work per job during the drain (medians; pg_stat_database, "
            "pg_stat_user_functions):"
        )
        print(
            common.table(
                [
                    "config",
                    "commits / job",
                    "jobs_claim calls / job",
                    "jobs / claim call",
                    "ms / claim call (server)",
                    "claim calls",
                ],
                db_rows,
            )
        )

    print("\nCPU seconds per 1,000 jobs during the drain, by process (medians):")
    cpu_table = []
    for key, runs in results.items():
        if runs and "cpu" in runs[0]:
            cpu_table.extend(cpu_rows(key, runs))
    print(common.table(["system", "process", "cpu-s / 1k jobs"], cpu_table))

    anomalies = [r for runs in results.values() for r in runs if r.get("anomaly")]
    unclean = [r for runs in results.values() for r in runs if r.get("stopped_cleanly") is False]
    for r in anomalies:
        print(
            f"\nANOMALY in an engine run: states {r['states']}, attempt<>1: "
            f"{r['attempt_not_1']}, with errors: {r['with_errors']}"
        )
    for r in unclean:
        print(f"\nNOT STOPPED by SIGTERM within 60 s: {r['system']}")
    stops = [
        r["stop_seconds"]
        for runs in results.values()
        for r in runs
        if r.get("stop_seconds") is not None
    ]
    if stops:
        print(f"\nengine SIGTERM -> exit: median {median(stops):.2f} s, max {max(stops):.2f} s")

    name = "throughput-sweep" if args.sweep else "throughput"
    if args.verify:
        name = "throughput-verify"
    if args.tag:
        name = f"throughput-{args.tag}"
    path = common.save(
        name, {"machine": info, "args": vars(args), "medians": medians, "results": results}
    )
    print(f"\nsaved {path}")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
