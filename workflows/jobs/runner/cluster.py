"""django-q2's cluster as the node's worker pool, and the entry point of `manage.py qcluster`.

The pool is django-q2's Cluster: a sentinel process forks the pusher, which asks the engine's
broker for claims, the worker processes, which run the packages of claimed jobs
(workflows.jobs.node.attempts.execute_package), and the monitor; the pusher's and the
workers' loops are the engine's own (runner.processes).
Everything the engine knows of django-q2's internals is in this package."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import TextIO

from workflows.jobs.node.process import NodeProcess
from workflows.jobs.runner import processes
from workflows.jobs.runner.schedules import sync_schedules


class DjangoQPool:
    """workflows.jobs.node.pool.WorkerPool over django-q2's Cluster."""

    def __init__(self):
        from django_q.conf import Conf

        self.concurrency = int(Conf.WORKERS)
        self._cluster = None

    def start(self) -> None:
        from django_q.cluster import Cluster

        processes.install()
        self._cluster = Cluster()
        self._cluster.start()

    @property
    def _sentinel(self):
        return self._cluster.sentinel

    def is_alive(self) -> bool:
        return self._cluster is not None and self._sentinel.is_alive()

    def request_stop(self) -> None:
        if self._cluster is not None and self._cluster.stop_event is not None:
            self._cluster.stop_event.set()

    def join(self, timeout: float) -> None:
        if self._cluster is not None:
            self._sentinel.join(timeout)

    def kill(self) -> None:
        if self._cluster is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._sentinel.pid, signal.SIGKILL)  # children die with it (PDEATHSIG)


def run_node(*, queues: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run one node until it is stopped; returns its exit status."""
    node = NodeProcess(pool=DjangoQPool(), queues=queues, out=out, on_start=[sync_schedules])
    return node.run()
