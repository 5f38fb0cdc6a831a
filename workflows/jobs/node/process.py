"""A node: one `manage.py qcluster` process tree serving the engine's queues.

The main process prepares the shared runtime, starts the worker pool (the runner's: django-q2's
sentinel, pusher, workers and monitor) with SIGTERM and SIGINT blocked in every child, and runs
the supervisor thread. Only the main process handles those signals, so SIGTERM to it alone
and SIGTERM to the whole process group (systemd) shut down the same way: stop claiming,
release claimed jobs that have not started, let running jobs finish within the grace period,
settle the rest, exit.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager, suppress

from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.db import connections

from workflows.jobs.api.queues import sync_queues
from workflows.jobs.conf import jobs_settings
from workflows.jobs.node import runtime as node_runtime
from workflows.jobs.node.completions import write_completions
from workflows.jobs.node.pool import WorkerPool
from workflows.jobs.node.supervisor import Supervisor
from workflows.jobs.policy.errors import UnknownQueueError
from workflows.jobs.store import database
from workflows.jobs.store import nodes as store_nodes
from workflows.jobs.store.maintenance import release_unstarted_jobs, settle_interrupted_attempt
from workflows.jobs.telemetry import node_exporter

logger = logging.getLogger("workflows.jobs")
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
POOL_EXIT_GRACE_SECONDS = 10.0
# Exit status of a node that found itself wedged (EX_TEMPFAIL): restart it.
WEDGED_EXIT_STATUS = 75
STARTUP_RETRY_FIRST_SECONDS = 0.5
STARTUP_RETRY_MAX_SECONDS = 10.0


@contextmanager
def signals_blocked():
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _after_fork(runtime) -> None:
    node_runtime.die_with_parent()


def node_name() -> str:
    return f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(2)}"


class NodeProcess:
    """One node: `pool` runs the attempts; `on_start` are called once before the pool forks
    (the runner's schedule sync)."""

    def __init__(
        self,
        *,
        pool: WorkerPool,
        queues: list[str] | None = None,
        out=None,
        on_start: Sequence[Callable[[], object]] = (),
    ):
        self.pool = pool
        self.on_start = list(on_start)
        self.conf = jobs_settings()
        self.out = out or sys.stdout
        served = queues or self.conf.queue_names
        unknown = [name for name in served if name not in self.conf.queue_names]
        if unknown:
            raise UnknownQueueError(
                f"unknown queue(s) {unknown}: defined queues are {self.conf.queue_names}"
            )
        self.runtime = node_runtime.NodeRuntime(
            name=node_name(),
            queues=served,
            concurrency=pool.concurrency,
            prefetch=self.conf.prefetch,
        )
        self.stop_requested = threading.Event()
        self.force_requested = threading.Event()

    def _on_signal(self, signum, frame) -> None:
        if self.stop_requested.is_set():
            self.force_requested.set()
        self.stop_requested.set()

    def _say(self, message: str) -> None:
        self.out.write(message + "\n")
        self.out.flush()

    def _with_database(self, action: Callable[[], object], what: str) -> None:
        """Start-up steps that need the database wait for it with backoff (a full server, a
        failover in progress) instead of exiting: a node never crash-loops on them."""
        delay = STARTUP_RETRY_FIRST_SECONDS
        while True:
            try:
                action()
                return
            except (
                DjangoOperationalError,
                DjangoInterfaceError,
                *database.CONNECTION_ERRORS,
            ) as exc:
                self._say(
                    f"jobs node {self.runtime.name}: {database.why_unavailable(exc)} while "
                    f"{what}; waiting {delay:g} s before trying again"
                )
                connections.close_all()
                time.sleep(delay)
                delay = min(delay * 2, STARTUP_RETRY_MAX_SECONDS)

    def run(self) -> int:
        self._with_database(sync_queues, "syncing the queues")
        for prepare in self.on_start:
            self._with_database(prepare, "preparing the node")
        supervisor = Supervisor(self.runtime, self.conf)
        self._with_database(supervisor.register, "registering the node")
        connections.close_all()  # nothing open may be shared with the forked processes
        # django-q2 calls close_old_connections() before every task; with health checks on,
        # that costs a "SELECT 1" per job. The engine recovers from broken connections itself.
        connections["default"].settings_dict["CONN_HEALTH_CHECKS"] = False

        node_runtime.install(self.runtime)
        exporter = node_exporter.start(self.runtime)  # before the pool forks
        multiprocessing.util.register_after_fork(self.runtime, _after_fork)
        with signals_blocked():
            for signum in HANDLED_SIGNALS:
                signal.signal(signum, self._on_signal)
            self.pool.start()
            for signum in HANDLED_SIGNALS:
                signal.signal(signum, self._on_signal)
        supervisor.start()
        if database.transaction_pooling() and not database.listen_database_url():
            self._say(
                f"jobs node {self.runtime.name}: the database is pooled (transaction pooling) "
                f"and JOBS_LISTEN_DATABASE_URL is not set, so this node polls for new jobs every "
                f"{self.conf.poll_interval_seconds:g} s instead of listening for them"
            )
        self._say(
            f"jobs node {self.runtime.name} ready: queues {', '.join(self.runtime.queues)}; "
            f"{self.runtime.concurrency} worker processes"
            + (f"; metrics at {exporter.url}" if exporter else "")
        )
        pool = self.pool
        while not self.stop_requested.wait(0.2):
            if not pool.is_alive() or supervisor.wedged.is_set():
                break
        if supervisor.wedged.is_set():
            return self._abandon_wedged(supervisor)
        crashed = not pool.is_alive() and not self.stop_requested.is_set()
        if crashed:
            logger.error("the worker pool died; settling this node's jobs and exiting")
        self._shutdown(supervisor)
        return 1 if crashed else 0

    # --- shutdown -------------------------------------------------------------------------------
    def _shutdown(self, supervisor: Supervisor) -> None:
        runtime = self.runtime
        self._say(
            f"jobs node {runtime.name} stopping: no new jobs; running jobs may finish "
            f"within {self.conf.shutdown_grace_seconds:g} s"
        )
        runtime.stopping.set()
        pool = self.pool
        pool.request_stop()
        deadline = time.monotonic() + self.conf.shutdown_grace_seconds
        while pool.is_alive() and time.monotonic() < deadline and not self.force_requested.is_set():
            pool.join(0.1)
        supervisor.stop()
        with database.connect() as conn:
            store_nodes.release_lease(conn, runtime.name)  # another node leads at once
            interrupted = self._kill_running(conn)
            pool.join(POOL_EXIT_GRACE_SECONDS if pool.is_alive() else 0)
            if pool.is_alive():
                pool.kill()
                pool.join(5)
            # Completions the claiming process had not written yet; no process of the pool
            # runs any more, so the ring is read without its lock.
            write_completions(conn, runtime, locked=False)
            released = self._settle_leftovers(conn)
            store_nodes.forget(conn, runtime.name)
        self._say(
            f"jobs node {runtime.name} stopped ({interrupted} interrupted, "
            f"{released} unstarted job(s) released)"
        )

    def _abandon_wedged(self, supervisor: Supervisor) -> int:
        """The pool cannot make progress (see Supervisor.watch_progress): kill it without a
        grace period, settle what can be settled in a bounded time, and exit for the node's
        supervisor (systemd, the run command) to start a fresh one. Whatever is not settled
        here the lifeline rescues once the heartbeat is old enough."""
        runtime = self.runtime
        self._say(
            f"jobs node {runtime.name} is wedged ({supervisor.wedged_reason}); exiting with "
            f"status {WEDGED_EXIT_STATUS} for its supervisor to restart it"
        )
        runtime.stopping.set()
        supervisor.halt.set()
        self.pool.kill()
        self.pool.join(5)
        try:
            with database.connect() as conn:
                store_nodes.configure_session(conn, store_nodes.EXIT_SESSION)
                message = (
                    f"Interrupted: node {runtime.name} was wedged ({supervisor.wedged_reason}) "
                    f"and was stopped."
                )
                for entry in runtime.registry.unlocked_snapshot():
                    settle_interrupted_attempt(
                        conn,
                        node=runtime.name,
                        job_id=entry.job_id,
                        attempt=entry.attempt,
                        message=message,
                    )
                write_completions(conn, runtime, locked=False)
                self._settle_leftovers(conn)
                store_nodes.forget(conn, runtime.name)
        except Exception as exc:
            logger.error(
                "node %s could not settle its jobs on the way out (%s); the lifeline rescues them",
                runtime.name,
                type(exc).__name__,
            )
        return WEDGED_EXIT_STATUS

    def _kill_running(self, conn) -> int:
        """Jobs still running after the grace period: kill their workers, requeue the jobs."""
        entries = self.runtime.registry.snapshot()
        message = (
            f"Interrupted: node {self.runtime.name} shut down and the job did not finish "
            f"within the {self.conf.shutdown_grace_seconds:g} s grace period."
        )
        for entry in entries:
            with suppress(ProcessLookupError):
                os.kill(entry.pid, signal.SIGKILL)
            settle_interrupted_attempt(
                conn,
                node=self.runtime.name,
                job_id=entry.job_id,
                attempt=entry.attempt,
                message=message,
            )
            self.runtime.registry.clear(entry)
        return len(entries)

    def _settle_leftovers(self, conn) -> int:
        """Claimed jobs that never started go back to available, their attempt not counted."""
        claims = store_nodes.executing_on(conn, self.runtime.name)
        return release_unstarted_jobs(conn, node=self.runtime.name, claims=claims)
