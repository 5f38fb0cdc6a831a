"""The function django-q2's worker processes call for every package the broker hands out,
and what happens to its result: the node's side of the attempt does the work, and the package
django-q2 passes on to its monitor is emptied (the job is already settled on its row)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django_q.signals import post_execute_in_worker

from workflows.jobs.node.attempts import execute_claimed


def run_claimed_job(data: dict[str, Any]) -> None:
    """One claimed job (an element of jobs_claim()'s result) in this worker process."""
    execute_claimed(data)


@receiver(post_execute_in_worker, dispatch_uid="jobs.shrink_result")
def _shrink_result(sender, func=None, task=None, **kwargs) -> None:
    """The worker hands each finished task to django-q2's monitor; the job itself is already
    settled, so it need not be pickled across again."""
    if func is run_claimed_job and task is not None:
        task["args"] = ()
