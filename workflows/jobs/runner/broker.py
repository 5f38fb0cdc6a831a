"""The django-q2 broker of the engine: django-q2's pusher asks it for work, it claims jobs.

dequeue() claims up to the node's free slots (plus a small prefetch) from every queue the node
serves with jobs_claim(): one round trip, SKIP LOCKED, cluster-wide queue limits. When there is
nothing to claim it sleeps until a NOTIFY (a job became available), a wake-up from a worker of
this node (a slot came free), or the polling interval, whichever is first. Behind a
transaction-pooling PgBouncer the NOTIFY arrives on a direct listen connection, or not at all
(store.claims.listening_connection): then the interval and the wake-ups pace it.

enqueue() receives the task packages django-q2's scheduler creates for cron entries and turns
each into the cron worker's job; any other django-q2 task is refused (use a Worker).
"""

from __future__ import annotations

import logging
import select
import time
from datetime import datetime

import psycopg
from django.db import transaction
from django.utils import timezone
from django_q.brokers import Broker
from django_q.signing import SignedPackage

from workflows.jobs.conf import jobs_settings
from workflows.jobs.execution.attempt import scrub
from workflows.jobs.node import runtime as node_runtime
from workflows.jobs.node.completions import write_completions
from workflows.jobs.runner.tasks import run_claimed_jobs
from workflows.jobs.store import claims, database

logger = logging.getLogger("workflows.jobs")

MAX_WAIT_SECONDS = 0.5  # the pusher checks for shutdown between dequeue calls
CONTENDED_RETRY_SECONDS = 0.005
MIN_RATE_WAIT_SECONDS = 0.005


class ClaimPacer:
    """When to claim. Between claims the node counts its free slots locally (workers write one
    wake-up byte per finished job). It claims when half of what it can hold is free again —
    its capacity, or less when the queues with waiting jobs have smaller limits — or when new
    jobs are announced and there is any room, or after a quiet interval (which resynchronises
    the count with the database). Claims then come in batches, not one per finished job."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.refill_at = max(1, capacity // 2)
        self.free: int | None = None  # unknown: ask the database
        self.room = 0
        self.announced = False

    def should_claim(self) -> bool:
        if self.free is None or self.room >= self.refill_at:
            return True
        return self.announced and self.free > 0

    def claimed(self, *, free: int, room: int, cap: int) -> None:
        self.free, self.room = free, room
        self.refill_at = max(1, cap // 2)
        self.announced = False

    def observed(self, *, finished: int, announced: bool) -> None:
        if not finished and not announced:
            self.free = None  # a quiet interval: resynchronise at the next claim
            return
        if finished and self.free is not None:
            self.free = min(self.capacity, self.free + finished)
            self.room = min(self.free, self.room + finished)
        self.announced = self.announced or announced


def pack(jobs: list[dict], workers: int) -> list[list[dict]]:
    """A claim's jobs in at most `workers` packages, dealt round-robin: every package starts
    with one of the claim's first jobs (the claim is in priority order), so the most urgent
    jobs start at once on different workers, and each worker pays django-q2's hand-off (queue
    locks, pickling, its task loop) once per package instead of once per job."""
    count = min(len(jobs), max(1, workers))
    return [jobs[i::count] for i in range(count)] if jobs else []


class JobsBroker(Broker):
    def __init__(self, list_key: str | None = None):
        super().__init__(list_key=list_key)
        self._claimer = None
        self._listener = None
        self._round_robin = 0
        self._reconnect_delay = 0.1
        self._pacer: ClaimPacer | None = None

    def __getstate__(self):
        return self.list_key, self._info

    def __setstate__(self, state):
        self.list_key, self._info = state
        self.connection = None
        self.cache = self.get_cache()
        self._claimer = None
        self._listener = None
        self._round_robin = 0
        self._reconnect_delay = 0.1
        self._pacer = None

    @staticmethod
    def get_connection(list_key: str | None = None):
        return None  # connections are opened lazily by the process that uses them

    # --- claiming ---------------------------------------------------------------------------
    def _connections(self):
        """(claiming connection, listening connection or None). On a direct database one
        connection does both; behind a transaction-pooling PgBouncer claims go through it and
        LISTEN uses JOBS['listen_database_url'], or nothing (the pusher then polls)."""
        broken = self._claimer is None or self._claimer.closed
        if self._listener is not None and self._listener.closed:
            broken = True
        if broken:
            self._drop_connections()
            if claims.listens_on_claims():
                self._claimer = self._listener = claims.listening_connection()
            else:
                self._claimer = claims.claiming_connection()
                self._listener = claims.listening_connection()
        return self._claimer, self._listener

    def _drop_connections(self) -> None:
        database.close_quietly(self._claimer)
        database.close_quietly(self._listener)
        self._claimer = self._listener = None

    def _claim(self, conn, node) -> tuple[list[list[dict]], dict]:
        """Claim jobs; returns them packed for the workers, and the claim's pacing figures."""
        self._round_robin += 1
        result = claims.claim(
            conn,
            node=node.name,
            capacity=node.concurrency + node.prefetch,
            queues=node.queues,
            start=self._round_robin,
        )
        jobs = result.pop("jobs")
        packages = pack(jobs, node.concurrency)
        if jobs:
            # Into the claim ring before any worker can see them: from here the supervisor
            # can revoke a claim (stale, cancelled, rescued) without racing its start.
            node.registry.claimed(
                [
                    (
                        job["id"],
                        job["attempt"],
                        node_runtime.epoch_us(datetime.fromisoformat(job["attempted_at"])),
                    )
                    for job in jobs
                ],
                packages=len(packages),
            )
        return packages, result

    def _task(self, jobs: list[dict]) -> dict:
        """The django-q2 task of a package of claimed jobs, as the workers' queue carries it."""
        first = jobs[0]
        return {
            "id": f"jobs-{first['id']}-{first['attempt']}-{len(jobs)}",
            "ack_id": first["id"],
            "name": f"{len(jobs)} job(s) from {first['id']}",
            "func": run_claimed_jobs,
            "args": (jobs,),
            "kwargs": {},
            "started": timezone.now(),
            "save": False,
            "timeout": -1,  # the engine enforces each worker's own timeout
        }

    def _wait(self, listener, node, seconds: float) -> tuple[int, bool]:
        """Sleep until jobs are announced, workers finish jobs, or `seconds` pass.
        Returns (jobs finished, jobs announced). Without a listener (pooled database, no
        listen URL) only the workers' wake-ups and the interval end the wait."""
        if listener is None:
            readable, _, _ = select.select([node.wake_fd], [], [], seconds)
            return (node.drain_wakes() if readable else 0), False
        # A notification that arrived during the last claim is already buffered by psycopg.
        if list(listener.notifies(timeout=0)):
            return node.drain_wakes(), True
        readable, _, _ = select.select([listener.fileno(), node.wake_fd], [], [], seconds)
        finished = node.drain_wakes() if node.wake_fd in readable else 0
        announced = listener.fileno() in readable and bool(list(listener.notifies(timeout=0)))
        return finished, announced

    def _write_completions(self, conn, node) -> None:
        """The completions workers left in the ring since the last call, in one statement,
        before claiming (the rows they free count as free in the claim)."""
        try:
            write_completions(conn, node)
        except database.CONNECTION_ERRORS:
            raise
        except psycopg.Error as exc:  # kept in the ring: the next call writes them
            logger.error("writing completed jobs failed (%s); retrying", type(exc).__name__)

    def dequeue(self):
        """django-q2's broker interface: signed packages, for a pusher that verifies them.
        The node's own pusher (runner.pusher) calls dequeue_tasks and skips the signing."""
        tasks = self.dequeue_tasks()
        return [(task["ack_id"], SignedPackage.dumps(task)) for task in tasks] if tasks else None

    def dequeue_tasks(self) -> list[dict] | None:
        """Claim jobs (see the module docstring); their tasks, or None after a wait."""
        node = node_runtime.current()
        if node is None:
            time.sleep(0.1)
            return None
        if self._pacer is None:
            self._pacer = ClaimPacer(node.concurrency + node.prefetch)
        try:
            conn, listener = self._connections()
            self._write_completions(conn, node)
            if node.stopping.is_set():
                # No new claims; the jobs still running may complete during the grace period.
                readable, _, _ = select.select([node.wake_fd], [], [], 0.1)
                if readable:
                    node.drain_wakes()
                return None
            wait_seconds = None
            if self._pacer.should_claim():
                for _ in range(50):
                    claimed, pace = self._claim(conn, node)
                    self._pacer.claimed(free=pace["free"], room=pace["room"], cap=pace["cap"])
                    # A rate limit held jobs back: claim again when its window has room.
                    wait_seconds = pace.get("wait")
                    if claimed:
                        self._reconnect_delay = 0.1
                        return [self._task(package) for package in claimed]
                    if not pace["contended"]:
                        break
                    time.sleep(CONTENDED_RETRY_SECONDS)
            seconds = min(jobs_settings().poll_interval_seconds, MAX_WAIT_SECONDS)
            if wait_seconds is not None:
                seconds = min(seconds, max(float(wait_seconds), MIN_RATE_WAIT_SECONDS))
            finished, announced = self._wait(listener, node, seconds)
            self._pacer.observed(finished=finished, announced=announced)
        except database.CONNECTION_ERRORS as exc:
            logger.warning(
                "claiming jobs failed: %s; reconnecting in %.1f s",
                database.why_unavailable(exc),
                self._reconnect_delay,
            )
            self._drop_connections()
            self._pacer.observed(finished=0, announced=False)
            time.sleep(self._reconnect_delay)
            self._reconnect_delay = min(self._reconnect_delay * 2, 5.0)
        return None

    # --- the rest of django-q2's broker interface ---------------------------------------------
    def enqueue(self, task: str) -> str:
        """Receives the packages of django-q2's `async_task`. From django-q2's scheduler (a
        package naming its schedule as `group`), called inside the scheduler's transaction for
        every due schedule, it never raises: one bad schedule would abort that transaction and
        lose the cron jobs of every other schedule due in the same pass. So the job is
        inserted in a savepoint, and a schedule that is not the engine's cron function is
        refused with a log line (`manage.py jobs sync` removes such schedules). Any other
        caller of async_task gets the error: use a Worker."""
        from workflows.jobs.runner.schedules import job_from_schedule_package

        package = SignedPackage.loads(task)
        if not package.get("group"):
            return str(job_from_schedule_package(package).pk)
        try:
            with transaction.atomic():
                job = job_from_schedule_package(package)
        except Exception as exc:
            logger.error(
                "django-q2 schedule %r not turned into a job: %s (%s)",
                str(package.get("group"))[:200],
                scrub(str(exc))[:500],
                type(exc).__name__,
            )
            return ""
        return str(job.pk)

    def acknowledge(self, task_id) -> None:
        """Outcomes are written by the worker process itself (workflows.jobs.execution.attempt)."""

    def fail(self, task_id) -> None:
        """Packages are built by this broker and always load; nothing to do."""

    def delete(self, task_id) -> None:
        from workflows.jobs.api.jobs import cancel_job

        cancel_job(int(task_id))

    def ping(self) -> bool:
        claims.ping()
        return True

    def queue_size(self) -> int:
        return claims.count_in_state("available")

    def lock_size(self) -> int:
        return claims.count_in_state("executing")

    def purge_queue(self) -> None:
        raise NotImplementedError(
            "jobs are never purged wholesale; cancel them (manage.py jobs cancel)"
        )

    def delete_queue(self) -> None:
        raise NotImplementedError("queues are defined in settings.JOBS['queues']")

    def info(self) -> str:
        return "workflows.jobs (PostgreSQL jobs table)"
