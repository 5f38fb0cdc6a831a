"""A node's supervisor: a thread in the `qcluster` main process.

Every node: watches that its pool makes progress, and heartbeats only while it does; refreshes
the paused-queue flags; settles jobs whose worker process died, blew its hard timeout or could
not record an outcome; interrupts running jobs that were cancelled; revokes claims that waited
too long or that the node no longer owns. The leader (a lease renewed every two seconds, lost
when the leader stops renewing) also runs the plugins: stager (due scheduled/retryable ->
available), lifeline (rescue orphaned jobs) and pruner.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

import psutil
from django.db import connection
from django.utils.module_loading import import_string

from workflows.jobs.conf import JobsSettings, jobs_settings
from workflows.jobs.node.runtime import (
    Claim,
    NodeRuntime,
    NodeWedged,
    RunningJob,
    epoch_us,
    from_epoch_us,
    monotonic_ms,
    now_ms,
)
from workflows.jobs.store import database
from workflows.jobs.store import metrics as store_metrics
from workflows.jobs.store import nodes as store_nodes
from workflows.jobs.store.maintenance import (
    prune_finished_jobs,
    rescue_orphaned_jobs,
    settle_interrupted_attempt,
    stage_due_jobs,
)
from workflows.jobs.telemetry.plugins import plugin_run

logger = logging.getLogger("workflows.jobs")

TICK_SECONDS = 0.25
ORPHAN_SWEEP_SECONDS = 5.0
METRICS_ROLLUP_SECONDS = 30.0


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
        self.wedged = threading.Event()
        self.wedged_reason = ""
        self.conn = None
        self.lead_until: float = float("-inf")  # monotonic; the lease is ours until then
        self.killed_for_timeout: dict[tuple[int, int], int] = {}
        self.signalled_cancel: set[tuple[int, int]] = set()
        self.unknown_executing: set[tuple] = set()
        self._progress_seen: tuple[int, int] = (-1, -1)
        self._stalled_since: float | None = None
        self.tasks = self.task_table(self.conf, self)

    @property
    def is_leader(self) -> bool:
        return time.monotonic() < self.lead_until

    @staticmethod
    def task_table(conf: JobsSettings, supervisor: Supervisor | None = None) -> list[Every]:
        """What the supervisor runs, how often, and whether only the leader runs it."""
        target = supervisor or Supervisor.__new__(Supervisor)
        tasks = [
            Every(1.0, target.watch_progress),
            Every(0.5, target.refresh_paused),
            Every(0.5, target.check_running),
            Every(0.5, target.settle_claims),
            Every(ORPHAN_SWEEP_SECONDS, target.release_orphaned_claims),
            Every(conf.heartbeat_interval_seconds, target.heartbeat),
            Every(2.0, target.try_lead),
            Every(conf.stage_interval_seconds, target.stage, leader_only=True),
            Every(conf.lifeline_interval_seconds, target.rescue, leader_only=True),
            Every(conf.prune_interval_seconds, target.prune, leader_only=True),
            Every(METRICS_ROLLUP_SECONDS, target.rollup_metrics, leader_only=True),
        ]
        for path in conf.plugins:
            plugin = import_string(path)
            tasks.append(Every(plugin.interval_seconds, plugin.run, leader_only=True))
        return tasks

    # --- plumbing ---------------------------------------------------------------------------
    def _db(self):
        if self.conn is None or self.conn.closed:
            self.conn = database.connect()
            store_nodes.configure_session(self.conn, store_nodes.SUPERVISOR_SESSION)
        return self.conn

    def _reset_db(self) -> None:
        database.close_quietly(self.conn)
        self.conn = None

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
            except NodeWedged as exc:
                self.wedged_reason = str(exc)
                logger.error(
                    "node %s is wedged: %s; it stops heartbeating and exits so that its "
                    "supervisor restarts it",
                    self.runtime.name,
                    exc,
                )
                self.wedged.set()
                break
            except database.CONNECTION_ERRORS as exc:
                logger.warning(
                    "node supervisor lost the database: %s; retrying in %.1f s",
                    database.why_unavailable(exc),
                    backoff,
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

    # --- progress -----------------------------------------------------------------------------
    def watch_progress(self) -> None:
        """A heartbeat must mean the node can make progress. Claims waiting in the workers'
        queue while workers are free, and none taken for `wedged_after_seconds`, means the
        pool stopped consuming (a worker died holding the queue's lock, a wedged process):
        raise NodeWedged, and the node exits for its supervisor to restart it."""
        if self.runtime.stopping.is_set():
            return
        running = len(self.runtime.registry.snapshot())  # NodeWedged if the lock is stuck
        handed, taken, _ = self.runtime.registry.progress()
        pending = handed - taken
        free = self.runtime.concurrency - running
        now = time.monotonic()
        if taken != self._progress_seen[1] or pending <= 0 or free <= 0:
            self._progress_seen = (handed, taken)
            self._stalled_since = None
            return
        if self._stalled_since is None:
            self._stalled_since = now
        elif now - self._stalled_since >= self.conf.wedged_after_seconds:
            raise NodeWedged(
                f"{pending} claimed job(s) waited in the workers' queue while {free} worker "
                f"process(es) were free, and none was taken for "
                f"{now - self._stalled_since:.0f} s"
            )

    # --- every node ---------------------------------------------------------------------------
    def register(self) -> None:
        store_nodes.register(
            self._db(),
            name=self.runtime.name,
            pid=os.getpid(),
            queues=self.runtime.queues,
            concurrency=self.runtime.concurrency,
        )

    def heartbeat(self) -> None:
        stopping = self.runtime.stopping.is_set()
        if not store_nodes.heartbeat(self._db(), self.runtime.name, stopping=stopping):
            logger.error(
                "node %s was declared dead by the lifeline (it missed its heartbeats); its "
                "jobs were rescued elsewhere, so its claims are revoked and its running "
                "attempts stopped; registering again",
                self.runtime.name,
            )
            self.runtime.registry.revoke_all()
            for entry in self.runtime.registry.snapshot():
                self._interrupt(entry)
            self.register()

    def refresh_paused(self) -> None:
        self.runtime.paused.update(store_nodes.paused_queues(self._db()))

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

    def _interrupt(self, entry: RunningJob) -> None:
        """Ask the worker to stop this job: the mark names the job, so a SIGUSR1 that reaches
        the process after it moved on to another job is ignored."""
        key = (entry.pid, entry.job_id)
        if key in self.signalled_cancel or not self.runtime.registry.request_cancel(entry):
            return
        self.signalled_cancel.add(key)
        with contextlib.suppress(ProcessLookupError):
            os.kill(entry.pid, signal.SIGUSR1)

    def check_running(self) -> None:
        entries = self.runtime.registry.snapshot()
        now = now_ms()
        live = {(e.pid, e.job_id) for e in entries}
        self.signalled_cancel &= live
        for entry in entries:
            key = (entry.pid, entry.job_id)
            if entry.abandoned:
                self._settle(
                    entry,
                    "The engine could not record this attempt's outcome; the attempt counts "
                    "as failed.",
                )
                continue
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
        running = [entry for entry in entries if not entry.abandoned and _alive(entry)]
        if running:
            cancelled = store_nodes.cancelled_among(self._db(), [entry.job_id for entry in running])
            for entry in running:
                if entry.job_id in cancelled:
                    self._interrupt(entry)

    def _backoff(self, entry: RunningJob) -> float:
        from workflows.jobs.execution.attempt import clamp_delay
        from workflows.jobs.models import Job
        from workflows.jobs.policy.registry import resolve_worker

        job = (
            Job.objects.filter(pk=entry.job_id)
            .only("worker", "attempt", "max_attempts", "args")
            .first()
        )
        worker_class = resolve_worker(job.worker) if job else None
        if worker_class is None:
            return 0.0
        try:
            return clamp_delay(worker_class().backoff(job))
        except Exception:
            return 0.0

    def settle_claims(self) -> None:
        """Claims handed to the workers but not started: revoke those that waited longer than
        prefetch_release_seconds (by this machine's monotonic clock, so a jump of the
        database's clock changes nothing) and release them, so other nodes may run them; and
        revoke those the node no longer owns (cancelled, rescued), so they never start."""
        claims = self.runtime.registry.pending_claims()
        if not claims:
            return
        limit_ms = monotonic_ms() - int(self.conf.prefetch_release_seconds * 1000)
        stale = [claim for claim in claims if claim.claimed_ms <= limit_ms]
        fresh = [claim for claim in claims if claim.claimed_ms > limit_ms]
        gone = self._not_owned(fresh) if fresh else []
        revoked = self.runtime.registry.revoke(stale + gone)
        stale_ids = {(claim.job_id, claim.attempt) for claim in stale}
        self._release([c for c in revoked if (c.job_id, c.attempt) in stale_ids])

    def _not_owned(self, claims: list[Claim]) -> list[Claim]:
        gone = store_nodes.claims_not_owned(
            self._db(),
            self.runtime.name,
            [(c.job_id, c.attempt, c.attempted_at_us) for c in claims],
        )
        return [c for c in claims if (c.job_id, c.attempt, c.attempted_at_us) in gone]

    def _release(self, claims: list[Claim]) -> int:
        return store_nodes.release_claims(
            self._db(),
            self.runtime.name,
            [(c.job_id, c.attempt, from_epoch_us(c.attempted_at_us)) for c in claims],
        )

    def release_orphaned_claims(self) -> None:
        """Jobs executing on this node in the database that no process of the node knows of
        (a claim whose answer was lost with a killed pusher, a release skipped because a row
        was locked): seen unknown at two sweeps in a row, they are released."""
        rows = store_nodes.executing_on(self._db(), self.runtime.name)
        known = self.runtime.registry.known_job_ids()
        unknown = {row for row in rows if row[0] not in known}
        orphans = unknown & self.unknown_executing
        self.unknown_executing = unknown - orphans
        if orphans:
            released = self._release(
                [
                    Claim(-1, job_id, attempt, epoch_us(attempted_at), 0, 0)
                    for job_id, attempt, attempted_at in orphans
                ]
            )
            if released:
                logger.warning(
                    "node %s released %s claimed job(s) that none of its processes held",
                    self.runtime.name,
                    released,
                )

    # --- leader only ----------------------------------------------------------------------------
    def try_lead(self) -> None:
        """Take or renew the leader's lease. The lease is trusted locally for 80 % of its
        length from before the request, so a leader that was stopped longer than that asks
        again before it runs any plugin (and finds another node holding it)."""
        seconds = self.conf.leader_lease_seconds
        asked = time.monotonic()
        row = store_nodes.acquire_lease(self._db(), self.runtime.name, seconds)
        self.lead_until = asked + 0.8 * seconds if row else float("-inf")

    def stage(self) -> None:
        with plugin_run("stager") as counts:
            counts["staged"] = stage_due_jobs(self._db(), self.conf)

    def rescue(self) -> None:
        with plugin_run("lifeline") as counts:
            count = counts["rescued"] = rescue_orphaned_jobs(self._db(), self.conf)
        if count:
            logger.warning("lifeline rescued %s orphaned job(s)", count)

    def prune(self) -> None:
        with plugin_run("pruner") as counts:
            report = prune_finished_jobs(self._db(), self.conf, time_budget_seconds=10.0)
            counts.update(report.deleted)
            store_metrics.prune(self._db())

    def rollup_metrics(self) -> None:
        """The dashboard's per-minute counts (store.metrics), before pruning removes jobs."""
        store_metrics.rollup(self._db())
