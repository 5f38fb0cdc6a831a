"""Who sees a job's args and meta as they are: users with the jobs.view_job_args permission,
each view recorded by JOBS['args_view_auditor']. Everyone else sees the keys with masked values.

Args can hold patient data (ids, sometimes more); the operations role runs the queues without
needing it. Keys stay visible (masked by JOBS['error_scrubber'] if a key is itself an
identifier) so an operator can still tell what kind of job it is.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from workflows.jobs.conf import jobs_settings

VIEW_ARGS_PERMISSION = "jobs.view_job_args"
HIDDEN = "***"
MAX_DEPTH = 32


def may_view_raw_args(user) -> bool:
    return bool(user.has_perm(VIEW_ARGS_PERMISSION))


def _scrub_key(key: Any) -> Any:
    path = jobs_settings().error_scrubber
    if not path or not isinstance(key, str):
        return key
    return import_string(path)(key)


def masked_values(value: Any, *, _depth: int = 0) -> Any:
    """`value` with every scalar replaced by "***": dict keys and list lengths are kept."""
    if _depth >= MAX_DEPTH:
        return HIDDEN
    if isinstance(value, dict):
        return {
            _scrub_key(key): masked_values(item, _depth=_depth + 1) for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked_values(item, _depth=_depth + 1) for item in value]
    return None if value is None else HIDDEN


def job_args_viewed(*, user, job) -> None:
    """Record that `user` was shown `job`'s raw args and meta."""
    path = jobs_settings().args_view_auditor
    if path:
        import_string(path)(user=user, job=job)
