"""Cron: the crontab in settings (entries of expression, worker dotted path[, options], in
UTC) and the job of one slot, inserted with a unique key of (worker, slot): three nodes firing
the same slot still insert one job. The runner turns entries into the schedules its scheduler
fires (workflows.jobs.runner.schedules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workflows.jobs.conf import jobs_settings
from workflows.jobs.policy.errors import CrontabError
from workflows.jobs.policy.registry import resolve_worker
from workflows.jobs.policy.states import ALL_STATES
from workflows.jobs.policy.unique import Unique
from workflows.jobs.telemetry.plugins import plugin_run

SCHEDULE_PREFIX = "jobs.cron:"
CRON_FUNCTION = "workflows.jobs.node.cron.insert_cron_job"
ALLOWED_OPTIONS = {"args", "queue", "priority", "max_attempts", "tags"}
# One job per (worker, slot), whatever happens to it afterwards.
SLOT_UNIQUE = Unique(period=None, fields=("worker", "meta"), states=ALL_STATES)


@dataclass(frozen=True)
class CronEntry:
    expression: str
    worker: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def schedule_name(self) -> str:
        return f"{SCHEDULE_PREFIX}{self.worker}:{self.expression}"


def parse_entry(raw: Any) -> CronEntry:
    if not isinstance(raw, list | tuple) or len(raw) not in (2, 3):
        raise CrontabError(f"crontab entry {raw!r} must be (expression, worker[, options]).")
    expression, worker = raw[0], raw[1]
    options = dict(raw[2]) if len(raw) == 3 else {}
    if not isinstance(expression, str) or not isinstance(worker, str):
        raise CrontabError(f"crontab entry {raw!r}: expression and worker must be strings.")
    return CronEntry(expression.strip(), worker, options)


def entry_problems(entry: CronEntry) -> list[str]:
    from croniter import croniter

    problems = []
    if not croniter.is_valid(entry.expression):
        problems.append(
            f"crontab entry for {entry.worker}: invalid cron expression '{entry.expression}' "
            f"(five fields: minute hour day-of-month month day-of-week, in UTC)."
        )
    if resolve_worker(entry.worker) is None:
        problems.append(
            f"crontab entry '{entry.expression}': unknown worker '{entry.worker}' (give the "
            f"dotted path of a Worker subclass defined in an installed app's workers module)."
        )
    unknown = set(entry.options) - ALLOWED_OPTIONS
    if unknown:
        problems.append(
            f"crontab entry for {entry.worker}: unknown options {sorted(unknown)}; "
            f"allowed: {sorted(ALLOWED_OPTIONS)}."
        )
    return problems


def crontab() -> list[CronEntry]:
    return [parse_entry(raw) for raw in jobs_settings().crontab]


def next_slot(expression: str, after: datetime) -> datetime:
    from croniter import croniter

    return croniter(expression, after).get_next(datetime)


def insert_cron_job(worker_path: str, expression: str, slot: str):
    """Insert the job of one cron slot; a slot already inserted returns the existing job."""
    entry = next(
        (e for e in crontab() if e.worker == worker_path and e.expression == expression), None
    )
    options = dict(entry.options) if entry else {}
    worker = resolve_worker(worker_path)
    if worker is None:
        raise CrontabError(f"cron schedule names unknown worker '{worker_path}'.")
    args = options.pop("args", {})
    slot_utc = datetime.fromisoformat(slot).astimezone(UTC).isoformat()
    with plugin_run("cron") as counts:
        job = worker.enqueue(
            args,
            meta={"cron_expr": expression, "cron_slot": slot_utc},
            unique=SLOT_UNIQUE,
            **options,
        )
        counts["inserted"] = 0 if job.conflict else 1
    return job
