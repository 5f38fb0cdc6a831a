"""State a node's processes share: created by `qcluster` before django-q2 forks its processes.

- `stopping`: set when the node shuts down; workers release jobs they have not started.
- `registry`: which worker process runs which job, so the node notices a worker that died
  (SIGKILL, OOM, hard timeout) and settles its job at once instead of waiting for the lifeline;
  and the claims handed to the workers that none has started yet (the claim ring), so the
  supervisor can revoke one (released, cancelled, rescued) without racing a worker that starts it.
- `paused`: the paused queues, refreshed twice a second, so a claimed-but-unstarted job of a
  queue paused meanwhile is released instead of started.
- the completion ring: attempts that completed without writing to the database, whose
  outcome the claiming process writes for many jobs in one statement (node.completions).
- a pipe that workers write to when they finish, waking the claiming process immediately.

Every table here is guarded by one lock. A process that dies holding it (SIGKILL, the OOM
killer) cannot release it: the supervisor takes it with a deadline and, past it, declares the
node wedged (see Supervisor.watch_progress) rather than waiting forever.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from workflows.jobs.execution.interrupts import on_engine_signal, set_cancel_filter
from workflows.jobs.store.outcomes import defer_completions, use_own_connection

_FORK = multiprocessing.get_context("fork")
# pid, job id, attempt, hard deadline (epoch ms, 0 = none), process start (ms), flags
_FIELDS = 6
# job id, attempt, attempted_at (epoch us), claimed (monotonic ms), status
_CLAIM_FIELDS = 5
# job id (0 = free slot), attempt, attempted_at (epoch us)
_DONE_FIELDS = 3
LOCK_WAIT_SECONDS = 5.0


class NodeWedged(RuntimeError):
    """The node cannot make progress (a lock held by a dead process, a pool that stopped
    taking work); it must exit so that its supervisor restarts it."""


class EntryFlag(IntEnum):
    RUNNING = 0
    CANCEL_REQUESTED = 1  # the supervisor asked the worker to stop this job (SIGUSR1)
    ABANDONED = 2  # the worker could not record the outcome: the supervisor settles it


class ClaimStatus(IntEnum):
    FREE = 0
    CLAIMED = 1  # handed to the workers' queue, not started
    REVOKED = 2  # released, cancelled or rescued before a worker started it: never start it


class StartDecision(IntEnum):
    RUN = 0  # the claim stands: start it
    CHECK = 1  # unknown to the ring or claimed long ago: ask the database first
    SKIP = 2  # revoked: the row is already settled; do nothing


@dataclass(frozen=True)
class RunningJob:
    slot: int
    pid: int
    job_id: int
    attempt: int
    hard_deadline_ms: int
    process_started_ms: int
    flags: int = EntryFlag.RUNNING

    @property
    def abandoned(self) -> bool:
        return self.flags == EntryFlag.ABANDONED


@dataclass(frozen=True)
class Completion:
    """An attempt that completed and whose outcome waits in the completion ring."""

    slot: int
    job_id: int
    attempt: int
    attempted_at_us: int


@dataclass(frozen=True)
class Claim:
    slot: int
    job_id: int
    attempt: int
    attempted_at_us: int
    claimed_ms: int
    status: int


def process_started_ms(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).create_time() * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(moment: datetime) -> int:
    """Exact microseconds since the epoch (float timestamps lose the last digit)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_epoch_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def monotonic_ms() -> int:
    """CLOCK_MONOTONIC is one clock for every process of the machine, and it goes on while a
    process is stopped (SIGSTOP): a claim held through a freeze looks as old as it is."""
    return int(time.monotonic() * 1000)


class RunningRegistry:
    """Fixed tables in shared memory: (worker pid -> job it runs) and the claim ring."""

    def __init__(self, slots: int, claim_slots: int):
        self._slots = slots
        self._claim_slots = claim_slots
        self._lock = _FORK.RLock()
        self._array = _FORK.Array(ctypes.c_longlong, slots * _FIELDS, lock=False)
        self._claims = _FORK.Array(ctypes.c_longlong, claim_slots * _CLAIM_FIELDS, lock=False)
        # A view of the same shared memory whose strided slices copy out in C: the ring is
        # searched for every job a worker takes (inherited at fork like the array itself).
        self._claims_view = memoryview(self._claims).cast("B").cast("q")
        # Completed attempts whose outcome the claiming process has not written yet: as many
        # slots as the claim ring, since every one of them was a claim first.
        self._done_slots = claim_slots
        self._done = _FORK.Array(ctypes.c_longlong, claim_slots * _DONE_FIELDS, lock=False)
        self._done_view = memoryview(self._done).cast("B").cast("q")
        # handed to the workers' queue, taken by a worker, started (perform called)
        self._progress = _FORK.Array(ctypes.c_longlong, 3, lock=False)
        # Per process (these attributes are copied, not shared, at fork): its own slot, kept
        # from job to job so entering and leaving touch one row, not the whole table.
        self._own_pid: int | None = None
        self._own_started_ms = 0
        self._own_slot: int | None = None

    # --- locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """The one lock of these tables. With a timeout (the supervisor's side), a lock that
        a dead process holds raises NodeWedged instead of blocking the node forever."""
        # multiprocessing's acquire() takes no "wait for ever" timeout value: call it bare.
        acquired = self._lock.acquire() if timeout is None else self._lock.acquire(timeout=timeout)
        if not acquired:
            raise NodeWedged(
                f"the node's shared registry lock was not free for {timeout:g} s: a process "
                f"of this node died holding it"
            )
        try:
            yield
        finally:
            self._lock.release()

    # --- workers ------------------------------------------------------------------------------
    def _find_slot(self, pid: int) -> int:
        data = self._array
        if self._own_slot is not None and data[self._own_slot * _FIELDS] in (0, pid):
            return self._own_slot
        free = None
        for slot in range(self._slots):
            owner = data[slot * _FIELDS]
            if owner == pid:
                return slot
            if free is None and owner == 0:
                free = slot
        if free is None:
            raise RuntimeError("the running-job registry is full")
        return free

    def _find_claim(self, job_id: int, attempt: int, attempted_at_us: int) -> int | None:
        data = self._claims_view
        ids = data[0::_CLAIM_FIELDS].tolist()
        slot = -1
        while True:
            try:
                slot = ids.index(job_id, slot + 1)
            except ValueError:
                return None
            base = slot * _CLAIM_FIELDS
            if data[base + 4] and data[base + 1] == attempt and data[base + 2] == attempted_at_us:
                return slot

    def start(
        self,
        job_id: int,
        attempt: int,
        attempted_at_us: int,
        hard_deadline_ms: int,
        *,
        check_after_ms: int,
    ) -> StartDecision:
        """A worker took a claimed job from the queue. Unless the claim was revoked, record that
        this process runs it (atomically with the ring, so no revocation can slip between)."""
        pid = os.getpid()
        if self._own_pid != pid:
            self._own_pid, self._own_slot = pid, None
            self._own_started_ms = process_started_ms(pid)
        with self.lock():
            claim = self._find_claim(job_id, attempt, attempted_at_us)
            decision = StartDecision.CHECK
            if claim is not None:
                base = claim * _CLAIM_FIELDS
                status, claimed_ms = self._claims[base + 4], self._claims[base + 3]
                self._claims[base : base + _CLAIM_FIELDS] = [0] * _CLAIM_FIELDS
                if status == ClaimStatus.REVOKED:
                    return StartDecision.SKIP
                if monotonic_ms() - claimed_ms < check_after_ms:
                    decision = StartDecision.RUN
            slot = self._own_slot = self._find_slot(pid)
            base = slot * _FIELDS
            self._array[base : base + _FIELDS] = [
                pid,
                job_id,
                attempt,
                hard_deadline_ms,
                self._own_started_ms,
                EntryFlag.RUNNING,
            ]
            self._progress[2] += 1
            return decision

    def forget_claim(self, job_id: int, attempt: int, attempted_at_us: int) -> None:
        """A worker took a claim it will not start (the node is stopping, the queue paused)."""
        with self.lock():
            claim = self._find_claim(job_id, attempt, attempted_at_us)
            if claim is not None:
                base = claim * _CLAIM_FIELDS
                self._claims[base : base + _CLAIM_FIELDS] = [0] * _CLAIM_FIELDS

    def leave(self) -> None:
        pid = os.getpid()
        with self.lock():
            slots = [self._own_slot] if self._own_slot is not None else range(self._slots)
            for slot in slots:
                base = slot * _FIELDS
                if self._array[base] == pid:
                    self._array[base : base + _FIELDS] = [0] * _FIELDS

    def defer_completion(self, job_id: int, attempt: int, attempted_at_us: int) -> bool:
        """This worker's attempt completed without writing to the database: hand its outcome
        to the claiming process (the completion ring) and leave the running table, in one
        step, so that no moment exists in which the supervisor could see the job neither
        running nor completed. False when the ring is full: write the outcome directly."""
        pid = os.getpid()
        with self.lock():
            try:
                slot = self._done_view[0::_DONE_FIELDS].tolist().index(0)
            except ValueError:
                return False
            base = slot * _DONE_FIELDS
            self._done[base : base + _DONE_FIELDS] = [job_id, attempt, attempted_at_us]
            own = self._own_slot
            if own is not None and self._array[own * _FIELDS] == pid:
                self._array[own * _FIELDS : (own + 1) * _FIELDS] = [0] * _FIELDS
            return True

    def completions(self, *, locked: bool = True) -> list[Completion]:
        """The completions waiting to be written. `locked=False` only once the pool's
        processes are gone (a node stopping or exiting wedged): the lock may then be held by
        a dead process, and nothing else can change the ring."""
        if locked:
            with self.lock(LOCK_WAIT_SECONDS):
                values = self._done[:]
        else:
            values = self._done[:]
        return [
            Completion(slot, *values[slot * _DONE_FIELDS : (slot + 1) * _DONE_FIELDS])
            for slot in range(self._done_slots)
            if values[slot * _DONE_FIELDS]
        ]

    def clear_completions(self, written: list[Completion]) -> None:
        """Free the slots of completions whose outcome was written (or refused by its job's
        row: the job was rescued, cancelled or released meanwhile)."""
        with self.lock(LOCK_WAIT_SECONDS):
            for done in written:
                base = done.slot * _DONE_FIELDS
                if self._done[base] == done.job_id and self._done[base + 1] == done.attempt:
                    self._done[base : base + _DONE_FIELDS] = [0] * _DONE_FIELDS

    def abandon(self) -> None:
        """This worker could not record its job's outcome: leave the entry for the supervisor,
        which settles the attempt as failed (so the attempt is counted and the job cannot loop)."""
        pid = os.getpid()
        with self.lock():
            if self._own_slot is not None and self._array[self._own_slot * _FIELDS] == pid:
                self._array[self._own_slot * _FIELDS + 5] = EntryFlag.ABANDONED

    def cancel_requested(self, job_id: int) -> bool:
        """Read from a signal handler: whether the supervisor asked this process to stop
        `job_id`. No lock: one aligned word, and a signal handler must never block."""
        slot = self._own_slot
        if slot is None:
            return False
        base = slot * _FIELDS
        return (
            self._array[base] == os.getpid()
            and self._array[base + 1] == job_id
            and self._array[base + 5] == EntryFlag.CANCEL_REQUESTED
        )

    # --- the claiming process -----------------------------------------------------------------
    def package_taken(self) -> None:
        """A worker took a package of claims from the workers' queue."""
        with self.lock():
            self._progress[1] += 1

    def claimed(self, claims: list[tuple[int, int, int]], *, packages: int | None = None) -> None:
        """(job id, attempt, attempted_at in epoch us) of jobs about to be handed to workers,
        in `packages` packages (one per job unless given)."""
        now = monotonic_ms()
        with self.lock():
            for job_id, attempt, attempted_at_us in claims:
                slot = self._free_claim_slot()
                base = slot * _CLAIM_FIELDS
                self._claims[base : base + _CLAIM_FIELDS] = [
                    job_id,
                    attempt,
                    attempted_at_us,
                    now,
                    ClaimStatus.CLAIMED,
                ]
            self._progress[0] += len(claims) if packages is None else packages

    def _free_claim_slot(self) -> int:
        statuses = self._claims[4::_CLAIM_FIELDS]
        try:
            return statuses.index(ClaimStatus.FREE)
        except ValueError:
            pass
        revoked = [
            (self._claims[slot * _CLAIM_FIELDS + 3], slot)
            for slot, status in enumerate(statuses)
            if status == ClaimStatus.REVOKED
        ]
        if not revoked:
            raise RuntimeError("the claim ring is full")
        # The oldest revoked claim's package is long gone or will be checked against the
        # database when taken (a claim unknown to the ring is never started unchecked).
        return min(revoked)[1]

    # --- the supervisor -----------------------------------------------------------------------
    def clear(self, entry: RunningJob) -> None:
        with self.lock(LOCK_WAIT_SECONDS):
            base = entry.slot * _FIELDS
            if self._array[base] == entry.pid and self._array[base + 1] == entry.job_id:
                self._array[base : base + _FIELDS] = [0] * _FIELDS

    def request_cancel(self, entry: RunningJob) -> bool:
        """Mark the entry so that the worker's SIGUSR1 handler stops this job and no other."""
        with self.lock(LOCK_WAIT_SECONDS):
            base = entry.slot * _FIELDS
            if self._array[base] == entry.pid and self._array[base + 1] == entry.job_id:
                self._array[base + 5] = EntryFlag.CANCEL_REQUESTED
                return True
            return False

    def snapshot(self, timeout: float | None = LOCK_WAIT_SECONDS) -> list[RunningJob]:
        with self.lock(timeout):
            values = self._array[:]
        entries = []
        for slot in range(self._slots):
            base = slot * _FIELDS
            if values[base]:
                entries.append(RunningJob(slot, *values[base : base + _FIELDS]))
        return entries

    def unlocked_snapshot(self) -> list[RunningJob]:
        """For a node that is wedged and exiting: the lock may be held by a dead process."""
        values = self._array[:]
        return [
            RunningJob(slot, *values[slot * _FIELDS : (slot + 1) * _FIELDS])
            for slot in range(self._slots)
            if values[slot * _FIELDS]
        ]

    def pending_claims(self) -> list[Claim]:
        with self.lock(LOCK_WAIT_SECONDS):
            values = self._claims[:]
        return [
            Claim(slot, *values[slot * _CLAIM_FIELDS : (slot + 1) * _CLAIM_FIELDS])
            for slot in range(self._claim_slots)
            if values[slot * _CLAIM_FIELDS + 4] == ClaimStatus.CLAIMED
        ]

    def revoke(self, claims: list[Claim]) -> list[Claim]:
        """Revoke claims no worker has started; returns those revoked (a worker may have
        started one since the list was read: it is left alone)."""
        revoked = []
        with self.lock(LOCK_WAIT_SECONDS):
            for claim in claims:
                base = claim.slot * _CLAIM_FIELDS
                if (
                    self._claims[base] == claim.job_id
                    and self._claims[base + 1] == claim.attempt
                    and self._claims[base + 4] == ClaimStatus.CLAIMED
                ):
                    self._claims[base + 4] = ClaimStatus.REVOKED
                    revoked.append(claim)
        return revoked

    def revoke_all(self) -> list[Claim]:
        return self.revoke(self.pending_claims())

    def known_job_ids(self) -> set[int]:
        """Jobs this node's processes know of: running, claimed and not yet taken, or
        completed with the outcome not yet written."""
        with self.lock(LOCK_WAIT_SECONDS):
            running = self._array[:]
            claims = self._claims[:]
            done = self._done[:]
        ids = {running[s * _FIELDS + 1] for s in range(self._slots) if running[s * _FIELDS]}
        ids.update(
            claims[s * _CLAIM_FIELDS]
            for s in range(self._claim_slots)
            if claims[s * _CLAIM_FIELDS + 4]
        )
        ids.update(done[0::_DONE_FIELDS])
        ids.discard(0)
        return ids

    def progress(self) -> tuple[int, int, int]:
        """(packages handed to the workers' queue, packages taken by workers, jobs started)."""
        values = self._progress[:]
        return values[0], values[1], values[2]


class PausedQueues:
    def __init__(self, queues: list[str]):
        self._index = {name: i for i, name in enumerate(queues)}
        self._flags = _FORK.Array(ctypes.c_byte, max(1, len(queues)), lock=False)

    def update(self, paused: set[str]) -> None:
        for name, index in self._index.items():
            self._flags[index] = 1 if name in paused else 0

    def is_paused(self, queue: str) -> bool:
        index = self._index.get(queue)
        return index is not None and bool(self._flags[index])


class NodeRuntime:
    def __init__(self, *, name: str, queues: list[str], concurrency: int, prefetch: int):
        self.name = name
        self.queues = list(queues)
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.main_pid = os.getpid()
        self.stopping = _FORK.Event()
        capacity = concurrency + prefetch
        self.registry = RunningRegistry(slots=concurrency + 16, claim_slots=4 * capacity + 16)
        self.paused = PausedQueues(self.queues)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)

    @property
    def wake_fd(self) -> int:
        return self._wake_read

    def wake(self) -> None:
        # A full pipe means the claimer is already due to wake.
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_write, b"\0")

    def drain_wakes(self) -> int:
        """Read the wake-ups written so far: one byte per job a worker finished."""
        count = 0
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(self._wake_read, 4096):
                count += len(chunk)
        return count


_current: NodeRuntime | None = None


def current() -> NodeRuntime | None:
    return _current


def install(runtime: NodeRuntime | None) -> None:
    """Make `runtime` this process's node (before the pool forks): SIGUSR1 then interrupts
    only a job its supervisor marked, outcomes go through each process's own connection, and
    plain completions through the completion ring (written by the claiming process)."""
    global _current
    _current = runtime
    set_cancel_filter(_cancel_requested if runtime is not None else None)
    use_own_connection(runtime is not None)
    defer_completions(_defer_completion if runtime is not None else None)


def _defer_completion(job) -> bool:
    runtime = current()
    return runtime is not None and runtime.registry.defer_completion(
        job.pk, job.attempt, epoch_us(job.attempted_at)
    )


_PR_SET_PDEATHSIG = 1
# The signals the engine itself sends to a node's processes. Their default action kills; a
# process between jobs that died of one could hold a multiprocessing lock (the task queue's
# read lock, a timer lock) for ever. Every forked process ignores them until perform() runs.
ENGINE_SIGNALS = (signal.SIGUSR1, signal.SIGALRM)


def _ignore_outside_perform(signum, frame) -> None:
    on_engine_signal(signum)


def _cancel_requested(job_id: int | None) -> bool:
    runtime = current()
    return runtime is None or runtime.registry.cancel_requested(job_id)


def die_with_parent() -> None:
    """Run in every process django-q2 forks for a node: if its parent dies (even by SIGKILL),
    it is killed too: no part of a node runs on once its heartbeat is gone. The engine's own
    signals get a handler that can never kill the process between jobs."""
    for signum in ENGINE_SIGNALS:
        signal.signal(signum, _ignore_outside_perform)
    parent = multiprocessing.parent_process()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        return  # not Linux: the lifeline still rescues the jobs, later
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)


def now_ms() -> int:
    return int(time.time() * 1000)
