"""The function a node's worker processes call for every package the broker hands out: a few
claimed jobs, run one after another by the node's side of the attempt (nothing is returned:
the jobs are settled on their rows)."""

from __future__ import annotations

from typing import Any

from workflows.jobs.node.attempts import execute_package


def run_claimed_jobs(jobs: list[dict[str, Any]]) -> None:
    """Claimed jobs (elements of jobs_claim()'s result), in order, in this worker process."""
    execute_package(jobs)
