"""The engine's settings (settings.JOBS), read when used, never at import time."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    "queues": {"default": {"limit": 10}},
    "node_concurrency": 4,
    "prefetch": None,  # None: three times node_concurrency
    "poll_interval_seconds": 0.5,
    "heartbeat_interval_seconds": 5.0,
    "node_dead_after_seconds": 30.0,
    "rescue_after_seconds": 1800.0,
    "shutdown_grace_seconds": 25.0,
    "prefetch_release_seconds": 5.0,
    # A node whose pool stopped taking work (claims waiting, workers free) for this long
    # stops heartbeating and exits, for its supervisor (systemd) to restart it.
    "wedged_after_seconds": 15.0,
    # The leader's lease: another node takes over this long after the leader stops renewing
    # it. None: half of node_dead_after_seconds.
    "leader_lease_seconds": None,
    "hard_timeout_margin_seconds": 5.0,
    "stage_interval_seconds": 1.0,
    "stage_batch_size": 5000,
    "lifeline_interval_seconds": 5.0,
    "prune_interval_seconds": 60.0,
    "prune_batch_size": 10_000,
    "prune_after_seconds": {
        "completed": 7 * 86400,
        "cancelled": 7 * 86400,
        "discarded": 30 * 86400,
    },
    "max_args_bytes": 64 * 1024,
    "worker_modules": [],
    "error_scrubber": None,
    # Dotted path of a callable(*, user, job) called each time a user is shown a job's raw args
    # and meta (the audit log of the project); None: such views are not recorded.
    "args_view_auditor": None,
    # Dotted path of a callable(*, user, action, count, filter, ids) called after each operator
    # action of the dashboard (retry, cancel, delete, pause, resume, scale); None: not recorded.
    "action_auditor": None,
    # The dashboard's bulk actions refuse a selection or filter matching more jobs than this.
    "bulk_limit": 10_000,
    "crontab": [],
    "testing": None,
    "plugins": [],
    # A workflow (workflows.jobs.Workflow) of more steps is refused before any SQL.
    "workflow_max_steps": 1000,
    # The project database is reached through a transaction-pooling PgBouncer: no session
    # state (prepared statements, session SET, LISTEN) on its connections (docs/operations.md).
    "transaction_pooling": False,
    # A direct connection string for LISTEN when the project database is pooled; "" with
    # transaction_pooling: nodes poll every poll_interval_seconds instead.
    "listen_database_url": "",
}


@dataclass(frozen=True)
class JobsSettings:
    queues: dict[str, dict[str, Any]]
    node_concurrency: int
    prefetch: int
    poll_interval_seconds: float
    heartbeat_interval_seconds: float
    node_dead_after_seconds: float
    rescue_after_seconds: float
    shutdown_grace_seconds: float
    prefetch_release_seconds: float
    wedged_after_seconds: float
    leader_lease_seconds: float
    hard_timeout_margin_seconds: float
    stage_interval_seconds: float
    stage_batch_size: int
    lifeline_interval_seconds: float
    prune_interval_seconds: float
    prune_batch_size: int
    prune_after_seconds: dict[str, int]
    max_args_bytes: int
    worker_modules: list[str]
    error_scrubber: str | None
    crontab: list[tuple]
    testing: str | None
    plugins: list[str] = field(default_factory=list)
    args_view_auditor: str | None = None
    workflow_max_steps: int = 1000
    action_auditor: str | None = None
    bulk_limit: int = 10_000
    transaction_pooling: bool = False
    listen_database_url: str = ""

    @property
    def queue_names(self) -> list[str]:
        return list(self.queues)

    def queue_limit(self, name: str) -> int:
        return int(self.queues[name].get("limit", 10))


@functools.cache
def jobs_settings() -> JobsSettings:
    """Read once, then cached until a setting changes (tests' override_settings included)."""
    raw = {**DEFAULTS, **getattr(settings, "JOBS", {})}
    raw["prune_after_seconds"] = {**DEFAULTS["prune_after_seconds"], **raw["prune_after_seconds"]}
    if raw["prefetch"] is None:
        # Measured on 2 cores (docs/benchmarks.md, settings sweep): claims come in batches and
        # workers never wait for one; prefetched jobs are released if no worker starts them in 5 s.
        raw["prefetch"] = 3 * raw["node_concurrency"]
    if raw["leader_lease_seconds"] is None:
        raw["leader_lease_seconds"] = raw["node_dead_after_seconds"] / 2
    known = JobsSettings.__dataclass_fields__
    return JobsSettings(**{key: value for key, value in raw.items() if key in known})


@receiver(setting_changed, dispatch_uid="jobs.settings_changed")
def _forget_cached_settings(setting: str, **kwargs) -> None:
    if setting == "JOBS":
        jobs_settings.cache_clear()
