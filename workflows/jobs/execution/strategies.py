"""What happens to a job right after it is inserted: nothing (a node will claim it; also the
"manual" testing mode), or, in the "inline" testing mode, its attempt runs at once in the
inserting process through the real execution path. Chosen from JOBS['testing'] or a
`testing_mode(...)` block (workflows.jobs.testing), so inserting never imports test code."""

from __future__ import annotations

import contextvars
import os

from workflows.jobs.conf import jobs_settings
from workflows.jobs.execution.attempt import execute_attempt
from workflows.jobs.policy.outcomes import AttemptResult
from workflows.jobs.store.outcomes import claim_by_id

MODES = ("manual", "inline")
_mode: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jobs_testing_mode", default=None
)


def current_mode() -> str | None:
    return _mode.get() or jobs_settings().testing


def set_mode(mode: str) -> contextvars.Token:
    if mode not in MODES:
        raise ValueError(f"testing_mode must be one of {MODES}; got {mode!r}.")
    return _mode.set(mode)


def reset_mode(token: contextvars.Token) -> None:
    _mode.reset(token)


def in_process_node() -> str:
    """The node name of attempts run in this process (inline mode, drain_queue)."""
    return f"test-process.{os.getpid()}"


def run_now(job) -> AttemptResult | None:
    """Claim a saved job for this process and run its attempt (None: it was not waiting)."""
    node = in_process_node()
    claimed = claim_by_id(job.pk, node)
    return execute_attempt(claimed, node) if claimed is not None else None


def after_insert(job):
    """The inserting call's last step: in inline mode the job runs now."""
    if current_mode() != "inline" or job.conflict:
        return job
    run_now(job)
    job.refresh_from_db()
    job.conflict = False
    return job
