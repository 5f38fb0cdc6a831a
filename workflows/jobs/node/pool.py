"""The worker pool a node runs its attempts in, as the node sees it. The runner package
implements it over django-q2's cluster (workflows.jobs.runner.cluster); nothing else in the
node knows which runner forks the processes."""

from __future__ import annotations

from typing import Protocol


class WorkerPool(Protocol):
    """Processes forked by the pool run `workflows.jobs.node.attempts.execute_claimed` for
    every claim; the pool's own claiming process asks the runner's broker for work."""

    concurrency: int  # worker processes

    def start(self) -> None:
        """Fork the pool (called with SIGTERM and SIGINT blocked: children inherit that)."""

    def is_alive(self) -> bool:
        """Whether the pool's root process still runs."""

    def request_stop(self) -> None:
        """Stop taking new work; running attempts go on."""

    def join(self, timeout: float) -> None:
        """Wait at most `timeout` seconds for the pool to exit."""

    def kill(self) -> None:
        """SIGKILL the pool's root process; its children die with it (PDEATHSIG)."""
