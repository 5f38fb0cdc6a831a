"""State a node's processes share: created by `qcluster` before django-q2 forks its processes.

- `stopping`: set when the node shuts down; workers release jobs they have not started.
- `registry`: which worker process runs which job, so the node notices a worker that died
  (SIGKILL, OOM, hard timeout) and settles its job at once instead of waiting for the lifeline.
- `paused`: the paused queues, refreshed twice a second, so a claimed-but-unstarted job of a
  queue paused meanwhile is released instead of started.
- a pipe that workers write to when they finish, waking the claiming process immediately.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass

_FORK = multiprocessing.get_context("fork")
_FIELDS = 5  # pid, job id, attempt, hard deadline (epoch ms, 0 = none), process start (ms)


@dataclass(frozen=True)
class RunningJob:
    slot: int
    pid: int
    job_id: int
    attempt: int
    hard_deadline_ms: int
    process_started_ms: int


def process_started_ms(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).create_time() * 1000)


class RunningRegistry:
    """A fixed table in shared memory of (worker pid -> job it runs)."""

    def __init__(self, slots: int):
        self._slots = slots
        self._array = _FORK.Array(ctypes.c_longlong, slots * _FIELDS)
        # Per process (these attributes are copied, not shared, at fork): its own slot, kept
        # from job to job so entering and leaving touch one row, not the whole table.
        self._own_pid: int | None = None
        self._own_started_ms = 0
        self._own_slot: int | None = None

    def _find_slot(self, data, pid: int) -> int:
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

    def enter(self, job_id: int, attempt: int, hard_deadline_ms: int) -> None:
        pid = os.getpid()
        if self._own_pid != pid:
            self._own_pid, self._own_slot = pid, None
            self._own_started_ms = process_started_ms(pid)
        with self._array.get_lock():
            data = self._array.get_obj()  # the raw array: the lock is already held
            slot = self._own_slot = self._find_slot(data, pid)
            base = slot * _FIELDS
            data[base : base + _FIELDS] = [
                pid,
                job_id,
                attempt,
                hard_deadline_ms,
                self._own_started_ms,
            ]

    def leave(self) -> None:
        pid = os.getpid()
        with self._array.get_lock():
            data = self._array.get_obj()
            slots = [self._own_slot] if self._own_slot is not None else range(self._slots)
            for slot in slots:
                base = slot * _FIELDS
                if data[base] == pid:
                    data[base : base + _FIELDS] = [0] * _FIELDS

    def clear(self, entry: RunningJob) -> None:
        with self._array.get_lock():
            base = entry.slot * _FIELDS
            if self._array[base] == entry.pid and self._array[base + 1] == entry.job_id:
                self._array[base : base + _FIELDS] = [0] * _FIELDS

    def snapshot(self) -> list[RunningJob]:
        with self._array.get_lock():
            values = self._array[:]
        entries = []
        for slot in range(self._slots):
            base = slot * _FIELDS
            if values[base]:
                entries.append(RunningJob(slot, *values[base : base + _FIELDS]))
        return entries

    def lock(self):
        """Held while the supervisor releases unstarted jobs, so none starts in between."""
        return self._array.get_lock()


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
        self.registry = RunningRegistry(slots=concurrency + 16)
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
    global _current
    _current = runtime


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Run in every process django-q2 forks for a node: if its parent dies (even by SIGKILL),
    it is killed too: no part of a node runs on once its heartbeat is gone."""
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
