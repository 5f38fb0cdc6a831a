"""Stopping perform() from outside: SIGALRM at its soft timeout, SIGUSR1 when its job is
cancelled while it runs; and cleaning up the connections an interruption leaves mid-query.

A node's processes keep a handler for both signals from fork on (workflows.jobs.node.runtime),
so a signal can never kill a process between jobs; the handler acts only while perform() runs,
and SIGUSR1 only when the cancel filter (set by the node: "did the supervisor mark this job?")
agrees."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connections
from psycopg.pq import TransactionStatus

from workflows.jobs.policy.outcomes import JobCancelledWhileRunning, JobTimeout

_performing = threading.local()
_cancel_filter: Callable[[int | None], bool] | None = None


def set_cancel_filter(accepts: Callable[[int | None], bool] | None) -> None:
    """The node's answer to "is this SIGUSR1 meant for job N?" (None: always)."""
    global _cancel_filter
    _cancel_filter = accepts


def on_engine_signal(signum: int) -> None:
    """SIGALRM and SIGUSR1: interrupt perform() only, and SIGUSR1 only for the job the
    supervisor asked to stop. Anywhere else they are ignored."""
    if not getattr(_performing, "active", False):
        return
    if signum == signal.SIGALRM:
        _performing.active = False
        raise JobTimeout()
    if signum == signal.SIGUSR1:
        job_id = getattr(_performing, "job_id", None)
        if _cancel_filter is not None and not _cancel_filter(job_id):
            return  # meant for a job this process no longer runs
        _performing.active = False
        raise JobCancelledWhileRunning()


def _handler(signum, frame) -> None:
    on_engine_signal(signum)


@contextmanager
def interruptible(timeout_seconds: int | None, job_id: int | None = None) -> Iterator[None]:
    """SIGALRM stops perform() at its timeout; SIGUSR1 stops it when the job is cancelled.
    Signals only reach the main thread; elsewhere perform runs without a soft timeout."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous_alarm = signal.signal(signal.SIGALRM, _handler)
        previous_usr1 = signal.signal(signal.SIGUSR1, _handler)
        if timeout_seconds:
            signal.setitimer(signal.ITIMER_REAL, timeout_seconds)
    _performing.job_id = job_id
    _performing.active = True
    try:
        yield
    finally:
        _performing.active = False
        if in_main_thread:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm)
            signal.signal(signal.SIGUSR1, previous_usr1)


def reset_connections() -> None:
    """After perform was interrupted (timeout, cancel) a connection may be left mid-query:
    psycopg cleans up only after KeyboardInterrupt or SystemExit, and the server would run
    the statement on (holding its locks) after the client went away. Cancel what is still
    running, then close Django's connections of this thread; they reconnect on first use."""
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if (
            raw is not None
            and not raw.closed
            and raw.info.transaction_status == TransactionStatus.ACTIVE
        ):
            with contextlib.suppress(Exception):
                raw.cancel_safe(timeout=2.0)
        try:
            conn.close()
        except Exception:  # a broken connection is dropped all the same
            conn.connection = None


def connections_dirty() -> bool:
    """Whether a Django connection of this thread was left inside a transaction or a query
    (a non-transactional worker that did not commit, an interrupted statement)."""
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if (
            raw is not None
            and not raw.closed
            and (raw.info.transaction_status != TransactionStatus.IDLE or conn.in_atomic_block)
        ):
            return True
    return False
