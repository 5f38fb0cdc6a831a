"""Chaos soak: three real nodes through a real PgBouncer (transaction pooling) in front of a
PostgreSQL server of the soak's own, a client inserting transactional jobs that each write one
effect row (with retries, snoozes, unique inserts, a limited queue and cron), and every few
seconds one fault: SIGKILL a node, SIGKILL one of its worker processes, SIGSTOP a node past its
dead time then SIGCONT, pg_terminate_backend of engine connections, restart PostgreSQL, restart
PgBouncer. At the end: the invariants, and a table of faults injected and invariants checked.

    .venv/bin/python bench/chaos.py --minutes 2 [--seed 7] [--json out.json]

Exit status 0 when every invariant holds. docs/reliability.md records a long run."""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import pgservers  # noqa: E402
from tests.support.clusters import ClusterProcess  # noqa: E402
from tests.support.pgbouncer import PgBouncer  # noqa: E402
from tests.support.topology_workers import EFFECT_TABLE  # noqa: E402

DBNAME = "topology_chaos"
NODES = 3
CONCURRENCY = 3
# The product's queues (its workers' checks need them); "email" is the soak's limited queue.
QUEUE_LIMITS = {"default": 8, "email": 2, "medical_workflow": 10, "lgpd_analysis": 5,
                "compliance_check": 3}  # fmt: skip
DEAD_AFTER_SECONDS = 4.0
RESCUE_AFTER_SECONDS = 120.0
WORKER = "tests.support.topology_workers.EffectWorker"
NODE_FAULTS = {"sigkill_node", "sigkill_worker", "sigstop_node"}
FAULTS = (
    "sigkill_node",
    "sigkill_worker",
    "sigstop_node",
    "terminate_backends",
    "restart_postgresql",
    "restart_pgbouncer",
)


def say(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Soak:
    def __init__(self, *, minutes: float, seed: int, fault_every: float):
        self.minutes = minutes
        self.random = random.Random(seed)
        self.fault_every = fault_every
        self.faults: collections.Counter[str] = collections.Counter()
        self.seen_committed: set[int] = set()
        self.insert_errors = 0
        self.max_executing: collections.Counter[str] = collections.Counter()
        self.overdue_executing = 0
        self.stop_client = threading.Event()
        self.stop_sampler = threading.Event()
        self.frozen: set[int] = set()
        self.round: list[str] = []
        self.node_exits: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    # --- topology -------------------------------------------------------------------------------
    def start(self) -> None:
        self.server = pgservers.PgServer.primary(max_connections=200).start()
        self.server.execute(f"CREATE DATABASE {DBNAME}")
        self.direct = self.server.url(DBNAME)
        pgservers.migrate(self.direct)
        self.server.execute(EFFECT_TABLE, dbname=DBNAME)
        self.bouncer = PgBouncer(backend_port=self.server.port, pool_size=30).start()
        self.pooled = self.bouncer.url(DBNAME)
        self.node_env = {
            "DATABASE_URL": self.pooled,
            "DATABASE_TRANSACTION_POOLING": "true",
            "JOBS_LISTEN_DATABASE_URL": self.direct,
            "JOBS_WORKER_MODULES": "tests.support.workers,tests.support.topology_workers",
            "JOBS_QUEUES": ",".join(f"{q}={n}" for q, n in QUEUE_LIMITS.items()),
            "JOBS_NODE_DEAD_AFTER_SECONDS": str(DEAD_AFTER_SECONDS),
            "JOBS_RESCUE_AFTER_SECONDS": str(RESCUE_AFTER_SECONDS),
            "JOBS_CRONTAB_OVERRIDE": json.dumps([["* * * * *", WORKER]]),
        }
        self.nodes = [self.new_node() for _ in range(NODES)]
        for node in self.nodes:
            node.wait_ready(timeout=120)

    def new_node(self) -> ClusterProcess:
        return ClusterProcess(concurrency=CONCURRENCY, env=self.node_env).start()

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                os.killpg(node.pid, signal.SIGCONT)
            node.stop()
        self.bouncer.stop()
        pgservers.remove(self.server)

    # --- the client -----------------------------------------------------------------------------
    def client(self) -> None:
        """Inserts through PgBouncer with the engine's API (so unique keys are computed as the
        product computes them); remembers every insert whose commit it saw."""
        os.environ.update(
            {
                "DATABASE_URL": self.pooled,
                "DATABASE_TRANSACTION_POOLING": "true",
                "JOBS_WORKER_MODULES": self.node_env["JOBS_WORKER_MODULES"],
                "JOBS_QUEUES": self.node_env["JOBS_QUEUES"],
                "DJANGO_SETTINGS_MODULE": "healthcare_cms.settings",
                "SECRET_KEY": "chaos-" + "x" * 50,
                "ENV_FILE": "",
                "CONN_MAX_AGE": "0",
            }
        )
        import django

        django.setup()
        from django.db import connection

        from tests.support.topology_workers import EffectWorker
        from workflows.jobs import Unique, insert

        n = 0
        while not self.stop_client.is_set():
            n += 1
            kind = n % 10
            args = {"n": n, "sleep": self.random.choice([0.0, 0.01, 0.05])}
            options: dict = {}
            if kind == 1:
                args["fail_first"] = 2
            elif kind == 2:
                args["snoozes"] = 1
            elif kind == 3:
                args = {"unique": n % 25}
                options["unique"] = Unique(period=None, fields=("args", "worker"))
            elif kind == 4:
                options["queue"] = "email"
                args["sleep"] = 0.05
            try:
                job = insert(EffectWorker.new(args, **options))
                self.seen_committed.add(job.pk)
            except Exception:
                self.insert_errors += 1
                with contextlib.suppress(Exception):
                    connection.close()
                time.sleep(0.2)
            time.sleep(0.01)

    # --- the sampler ----------------------------------------------------------------------------
    def sampler(self) -> None:
        while not self.stop_sampler.is_set():
            try:
                with psycopg.connect(self.direct, autocommit=True, connect_timeout=2) as conn:
                    while not self.stop_sampler.is_set():
                        for queue, count in conn.execute(
                            "SELECT queue, count(*) FROM jobs_job WHERE state = 'executing' "
                            "GROUP BY queue"
                        ):
                            self.max_executing[queue] = max(self.max_executing[queue], count)
                        (overdue,) = conn.execute(
                            "SELECT count(*) FROM jobs_job WHERE state = 'executing' AND "
                            "attempted_at < now() - make_interval(secs => %s)",
                            [RESCUE_AFTER_SECONDS + 30],
                        ).fetchone()
                        self.overdue_executing = max(self.overdue_executing, overdue)
                        time.sleep(0.1)
            except psycopg.Error:
                time.sleep(0.5)

    # --- faults ---------------------------------------------------------------------------------
    def restart_exited_nodes(self) -> None:
        """A node that exited by itself (a wedged pool: status 75) is started again, as
        systemd's Restart=always does in production."""
        for index, node in enumerate(self.nodes):
            if node.process.poll() is not None:
                self.node_exits[str(node.process.returncode)] += 1
                self.nodes[index] = self.new_node()

    def fault(self) -> str:
        """The next fault: every kind once per round, in a shuffled order."""
        if not self.round:
            self.round = list(FAULTS)
            self.random.shuffle(self.round)
        name = self.round.pop()
        if name in NODE_FAULTS and not self.live_nodes():
            return f"{name} skipped (every node frozen)"
        getattr(self, name)()
        self.faults[name] += 1
        return name

    def live_nodes(self) -> list[ClusterProcess]:
        return [n for n in self.nodes if n.process.poll() is None and n.pid not in self.frozen]

    def sigkill_node(self) -> None:
        node = self.random.choice(self.live_nodes())
        node.signal(signal.SIGKILL, group=True)
        node.wait(10)
        self.nodes[self.nodes.index(node)] = self.new_node()  # as systemd would restart it

    def sigkill_worker(self) -> None:
        node = self.random.choice(self.live_nodes())
        children = psutil.Process(node.pid).children(recursive=True)
        workers = [c for c in children if not c.children()]  # leaves: django-q2's workers
        if workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.random.choice(workers).kill()

    def sigstop_node(self) -> None:
        node = self.random.choice(self.live_nodes())
        pause = DEAD_AFTER_SECONDS + self.random.uniform(2, 5)
        node.signal(signal.SIGSTOP, group=True)
        self.frozen.add(node.pid)

        def resume():
            with contextlib.suppress(ProcessLookupError):
                node.signal(signal.SIGCONT, group=True)
            self.frozen.discard(node.pid)

        threading.Timer(pause, resume).start()

    def terminate_backends(self) -> None:
        with psycopg.connect(self.direct, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() AND random() < 0.5",
                [DBNAME],
            )

    def restart_postgresql(self) -> None:
        self.server.stop(self.random.choice(["fast", "immediate"]))
        time.sleep(self.random.uniform(0.5, 2))
        self.server.start()

    def restart_pgbouncer(self) -> None:
        self.bouncer.restart()

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> dict:
        self.start()
        say(f"3 nodes through PgBouncer :{self.bouncer.port} -> PostgreSQL :{self.server.port}")
        client = threading.Thread(target=self.client, daemon=True)
        sampler = threading.Thread(target=self.sampler, daemon=True)
        client.start()
        sampler.start()
        ends = time.monotonic() + self.minutes * 60
        while time.monotonic() < ends:
            time.sleep(self.fault_every * self.random.uniform(0.6, 1.4))
            if time.monotonic() >= ends:
                break
            self.restart_exited_nodes()
            try:
                say(f"fault: {self.fault()}")
            except Exception as exc:
                say(f"fault not injected ({type(exc).__name__}: {exc})")
        self.stop_client.set()
        client.join(30)
        frozen_until = time.monotonic() + DEAD_AFTER_SECONDS + 10
        while self.frozen and time.monotonic() < frozen_until:  # the last SIGSTOP ends
            time.sleep(0.2)
        self.restart_exited_nodes()
        drained, drain_seconds = self.drain()
        self.stop_sampler.set()
        sampler.join(10)
        return self.check(drained, drain_seconds)

    def counts(self) -> dict[str, int]:
        with psycopg.connect(self.direct, autocommit=True, connect_timeout=5) as conn:
            return dict(conn.execute("SELECT state, count(*) FROM jobs_job GROUP BY state"))

    def drain(
        self, stall_seconds: float = 60.0, limit_seconds: float = 900.0
    ) -> tuple[bool, float]:
        """Wait while the backlog shrinks: fail when it stops shrinking for `stall_seconds`
        or after `limit_seconds` in all."""
        started = time.monotonic()
        best, best_at = None, started
        while time.monotonic() - started < limit_seconds:
            try:
                states = self.counts()
            except psycopg.Error:
                time.sleep(1)
                continue
            left = sum(
                v for k, v in states.items() if k not in ("completed", "discarded", "cancelled")
            )
            if left == 0:
                return True, time.monotonic() - started
            if best is None or left < best:
                best, best_at = left, time.monotonic()
            elif time.monotonic() - best_at > stall_seconds:
                say(f"backlog stuck at {left} for {stall_seconds:g} s: {states}")
                return False, time.monotonic() - started
            time.sleep(0.5)
        return False, time.monotonic() - started

    def check(self, drained: bool, drain_seconds: float) -> dict:
        with psycopg.connect(self.direct, autocommit=True) as conn:
            states = dict(conn.execute("SELECT state, count(*) FROM jobs_job GROUP BY state"))
            (doubled,) = conn.execute(
                "SELECT count(*) FROM (SELECT job_id FROM topology_effects GROUP BY job_id "
                "HAVING count(*) > 1) d"
            ).fetchone()
            (missing,) = conn.execute(
                "SELECT count(*) FROM jobs_job j WHERE state = 'completed' AND NOT EXISTS "
                "(SELECT 1 FROM topology_effects e WHERE e.job_id = j.id)"
            ).fetchone()
            (stray,) = conn.execute(
                "SELECT count(*) FROM topology_effects e WHERE NOT EXISTS (SELECT 1 FROM "
                "jobs_job j WHERE j.id = e.job_id AND j.state = 'completed')"
            ).fetchone()
            ids = {row[0] for row in conn.execute("SELECT id FROM jobs_job")}
            (unique_doubled,) = conn.execute(
                "SELECT count(*) FROM (SELECT args->>'unique' FROM jobs_job WHERE args ? "
                "'unique' GROUP BY 1 HAVING count(*) > 1) u"
            ).fetchone()
            (cron_doubled,) = conn.execute(
                "SELECT count(*) FROM (SELECT meta->>'cron_slot' FROM jobs_job WHERE meta ? "
                "'cron_slot' GROUP BY 1 HAVING count(*) > 1) c"
            ).fetchone()
            (cron_jobs,) = conn.execute(
                "SELECT count(*) FROM jobs_job WHERE meta ? 'cron_slot'"
            ).fetchone()
            (retried,) = conn.execute(
                "SELECT count(*) FROM jobs_job WHERE jsonb_array_length(errors) > 0"
            ).fetchone()
        lost = self.seen_committed - ids
        total = sum(states.values())
        invariants = [
            ("every job reached a final state", drained and set(states) <= {"completed"}, states),
            ("each completed job's effect exactly once",
             doubled == 0 and missing == 0 and stray == 0,
             f"doubled {doubled}, missing {missing}, stray {stray}"),
            ("every insert the client saw committed is in the table", not lost,
             f"{len(self.seen_committed)} seen, {len(lost)} missing"),
            ("no queue limit exceeded (sampled every 0.1 s)",
             all(self.max_executing[q] <= n for q, n in QUEUE_LIMITS.items()),
             ", ".join(f"{q} max {self.max_executing[q]}/{n}" for q, n in QUEUE_LIMITS.items())),
            ("nothing executing past the rescue horizon", self.overdue_executing == 0,
             f"max {self.overdue_executing}"),
            ("unique inserts: one job per key", unique_doubled == 0,
             f"{unique_doubled} doubled"),
            ("cron: one job per slot", cron_doubled == 0,
             f"{cron_jobs} slots, {cron_doubled} doubled"),
        ]  # fmt: skip
        return {
            "minutes": self.minutes,
            "jobs": total,
            "retried_or_rescued_jobs": retried,
            "insert_errors_seen_by_client": self.insert_errors,
            "drain_seconds": round(drain_seconds, 1),
            "faults": dict(self.faults),
            "node_exits_restarted": dict(self.node_exits),
            "invariants": [
                {"invariant": name, "held": bool(held), "detail": str(detail)}
                for name, held, detail in invariants
            ],
        }


def print_table(result: dict) -> None:
    print()
    print(f"{'fault injected':<34}{'count':>7}")
    for name in FAULTS:
        print(f"{name:<34}{result['faults'].get(name, 0):>7}")
    print()
    print(f"{'invariant':<58}{'held':<6}detail")
    for row in result["invariants"]:
        print(f"{row['invariant']:<58}{'yes' if row['held'] else 'NO':<6}{row['detail']}")
    print()
    print(
        f"jobs {result['jobs']}, "
        f"with a failed/rescued attempt {result['retried_or_rescued_jobs']}, "
        f"client insert errors {result['insert_errors_seen_by_client']}, "
        f"drain after the faults {result['drain_seconds']} s; nodes that exited by themselves "
        f"and were restarted (by exit status): {result['node_exits_restarted'] or 'none'}"
    )


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    # SIGTERM and SIGINT (even when a background shell ignored it) stop the soak through its
    # clean-up: nodes, PgBouncer and the server are stopped and their folders removed.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--fault-every", type=float, default=4.0, help="seconds between faults")
    parser.add_argument("--json", type=Path, help="also write the result here")
    options = parser.parse_args(argv)
    say(f"seed {options.seed}, {options.minutes:g} min, a fault every ~{options.fault_every:g} s")
    soak = Soak(minutes=options.minutes, seed=options.seed, fault_every=options.fault_every)
    try:
        result = soak.run()
    finally:
        soak.stop()
    result["seed"] = options.seed
    print_table(result)
    if options.json:
        options.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(row["held"] for row in result["invariants"]) else 1


if __name__ == "__main__":
    sys.exit(main())
