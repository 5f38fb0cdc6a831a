"""A node's supervisor: a thread in the `qcluster` main process.

Every node: heartbeats; refreshes the paused-queue flags; settles jobs whose worker process died
or blew its hard timeout; interrupts running jobs that were cancelled; releases prefetched jobs
that waited too long. The elected leader (a session advisory lock) also runs the plugins:
stager (due scheduled/retryable -> available), lifeline (rescue orphaned jobs) and pruner.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

import psutil
from django.db import connection
from django.utils.module_loading import import_string

from workflows.jobs import database, sql
from workflows.jobs.conf import JobsSettings, jobs_settings
from workflows.jobs.maintenance import (
    release_unstarted_jobs,
    rescue_orphaned_jobs,
    settle_interrupted_attempt,
    stage_due_jobs,
)
from workflows.jobs.pruning import prune_finished_jobs
from workflows.jobs.runtime import NodeRuntime, RunningJob, now_ms

logger = logging.getLogger("workflows.jobs")

TICK_SECONDS = 0.25


def _alive(entry: RunningJob) -> bool:
    try:
        process = psutil.Process(entry.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return int(process.create_time() * 1000) == entry.process_started_ms
    except psutil.NoSuchProcess:
        return False


class Every:
    """Runs `action` when `interval` seconds have passed since it last ran."""

    def __init__(self, interval: float, action: Callable[[], object], *, leader_only: bool = False):
        self.interval = interval
        self.action = action
        self.leader_only = leader_only
        self.last = float("-inf")

    def due(self, now: float) -> bool:
        return now - self.last >= self.interval


class Supervisor(threading.Thread):
    def __init__(self, runtime: NodeRuntime, conf: JobsSettings | None = None):
        super().__init__(name="jobs-supervisor", daemon=True)
        self.runtime = runtime
        self.conf = conf or jobs_settings()
        self.halt = threading.Event()
        self.conn = None
        self.is_leader = False
        self.killed_for_timeout: dict[tuple[int, int], int] = {}
        self.signalled_cancel: set[tuple[int, int]] = set()
        self.tasks = self.task_table(self.conf, self)

    @staticmethod
    def task_table(conf: JobsSettings, supervisor: Supervisor | None = None) -> list[Every]:
        """What the supervisor runs, how often, and whether only the leader runs it."""
        target = supervisor or Supervisor.__new__(Supervisor)
        tasks = [
            Every(0.5, target.refresh_paused),
            Every(0.5, target.check_running),
            Every(1.0, target.release_stale_prefetch),
            Every(conf.heartbeat_interval_seconds, target.heartbeat),
            Every(2.0, target.try_lead),
            Every(conf.stage_interval_seconds, target.stage, leader_only=True),
            Every(conf.lifeline_interval_seconds, target.rescue, leader_only=True),
            Every(conf.prune_interval_seconds, target.prune, leader_only=True),
        ]
        for path in conf.plugins:
            plugin = import_string(path)
            tasks.append(Every(plugin.interval_seconds, plugin.run, leader_only=True))
        return tasks

    # --- plumbing ---------------------------------------------------------------------------
    def _db(self):
        if self.conn is None or self.conn.closed:
            self.conn = database.connect()
            self.is_leader = False
        return self.conn

    def _reset_db(self) -> None:
        database.close_quietly(self.conn)
        self.conn = None
        self.is_leader = False

    def run(self) -> None:
        backoff = 0.5
        while not self.halt.is_set():
            now = time.monotonic()
            try:
                for task in self.tasks:
                    if task.due(now) and (self.is_leader or not task.leader_only):
                        task.action()
                        task.last = now
                backoff = 0.5
            except database.CONNECTION_ERRORS as exc:
                logger.warning(
                    "node supervisor lost the database (%s); retrying", type(exc).__name__
                )
                self._reset_db()
                self.halt.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            except Exception:
                logger.exception("node supervisor task failed")
                self._reset_db()
            self.halt.wait(TICK_SECONDS)
        self._reset_db()

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)
        # Django's per-thread connection, if a plugin used the ORM.
        connection.close()

    # --- every node ---------------------------------------------------------------------------
    def register(self) -> None:
        self._db().execute(
            sql.NODE_REGISTER,
            {
                "name": self.runtime.name,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "queues": self.runtime.queues,
                "concurrency": self.runtime.concurrency,
            },
        )

    def heartbeat(self) -> None:
        stopping = self.runtime.stopping.is_set()
        updated = self._db().execute(sql.NODE_HEARTBEAT, [stopping, self.runtime.name]).rowcount
        if not updated:
            logger.error(
                "node %s was declared dead by the lifeline; registering again", self.runtime.name
            )
            self.register()

    def refresh_paused(self) -> None:
        rows = self._db().execute(sql.PAUSED_QUEUES).fetchall()
        self.runtime.paused.update({name for (name,) in rows})

    def _settle(self, entry: RunningJob, message: str) -> None:
        settle_interrupted_attempt(
            self._db(),
            node=self.runtime.name,
            job_id=entry.job_id,
            attempt=entry.attempt,
            message=message,
            retry_in=self._backoff(entry),
        )
        self.runtime.registry.clear(entry)

    def check_running(self) -> None:
        entries = self.runtime.registry.snapshot()
        now = now_ms()
        for entry in entries:
            key = (entry.pid, entry.job_id)
            if not _alive(entry):
                overrun = self.killed_for_timeout.pop(key, None)
                if overrun is not None:
                    message = (
                        f"Timed out: the job ignored its soft timeout, so its worker "
                        f"process (pid {entry.pid}) was killed {overrun} s after it."
                    )
                else:
                    message = (
                        f"The worker process (pid {entry.pid}) died while running the "
                        f"job (killed by a signal or crashed)."
                    )
                self._settle(entry, message)
                self.signalled_cancel.discard(key)
                continue
            if (
                entry.hard_deadline_ms
                and now > entry.hard_deadline_ms
                and key not in self.killed_for_timeout
            ):
                logger.error(
                    "job %s exceeded its hard deadline; killing worker %s", entry.job_id, entry.pid
                )
                self.killed_for_timeout[key] = int(self.conf.hard_timeout_margin_seconds)
                os.kill(entry.pid, signal.SIGKILL)
        running = [entry for entry in entries if _alive(entry)]
        if running:
            cancelled = {
                job_id
                for (job_id,) in self._db()
                .execute(sql.CANCELLED_AMONG, [[entry.job_id for entry in running]])
                .fetchall()
            }
            for entry in running:
                key = (entry.pid, entry.job_id)
                if entry.job_id in cancelled and key not in self.signalled_cancel:
                    self.signalled_cancel.add(key)
                    os.kill(entry.pid, signal.SIGUSR1)

    def _backoff(self, entry: RunningJob) -> float:
        from workflows.jobs.models import Job
        from workflows.jobs.worker import resolve_worker

        job = (
            Job.objects.filter(pk=entry.job_id)
            .only("worker", "attempt", "max_attempts", "args")
            .first()
        )
        worker_class = resolve_worker(job.worker) if job else None
        if worker_class is None:
            return 0.0
        try:
            return float(worker_class().backoff(job))
        except Exception:
            return 0.0

    def release_stale_prefetch(self) -> None:
        """Jobs claimed for this node's buffer that no worker started within
        prefetch_release_seconds go back to available, so other nodes can run them. The
        registry's lock keeps a worker from starting one of them meanwhile."""
        with self.runtime.registry.lock():
            started = [entry.job_id for entry in self.runtime.registry.snapshot()]
            stale = (
                self._db()
                .execute(
                    sql.NODE_UNSTARTED_OLDER_THAN,
                    {
                        "node": self.runtime.name,
                        "seconds": self.conf.prefetch_release_seconds,
                        "started": started,
                    },
                )
                .fetchall()
            )
            release_unstarted_jobs(self._db(), node=self.runtime.name, claims=stale)

    # --- leader only ----------------------------------------------------------------------------
    def try_lead(self) -> None:
        if not self.is_leader:
            (got,) = (
                self._db()
                .execute(sql.TRY_LOCK, [sql.LOCK_NAMESPACE, sql.LEADER_LOCK_KEY])
                .fetchone()
            )
            self.is_leader = bool(got)

    def stage(self) -> None:
        stage_due_jobs(self._db(), self.conf)

    def rescue(self) -> None:
        count = rescue_orphaned_jobs(self._db(), self.conf)
        if count:
            logger.warning("lifeline rescued %s orphaned job(s)", count)

    def prune(self) -> None:
        prune_finished_jobs(self._db(), self.conf, time_budget_seconds=10.0)
