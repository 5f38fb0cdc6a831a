"""Cron: the crontab in settings, run by django-q2's scheduler, one job per slot.

Each entry (expression, worker dotted path[, options]) becomes a django-q2 `Schedule` of type
cron (croniter, UTC). When the scheduler fires it, the package reaches the engine's broker,
which inserts the worker's job with a unique key of (worker, slot): three clusters firing the
same slot still insert one job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from workflows.jobs import sql
from workflows.jobs.conf import jobs_settings
from workflows.jobs.states import ALL_STATES
from workflows.jobs.unique import Unique
from workflows.jobs.worker import resolve_worker

SCHEDULE_PREFIX = "jobs.cron:"
CRON_FUNCTION = "workflows.jobs.cron.insert_cron_job"
ALLOWED_OPTIONS = {"args", "queue", "priority", "max_attempts", "tags"}
# One job per (worker, slot), whatever happens to it afterwards.
SLOT_UNIQUE = Unique(period=None, fields=("worker", "meta"), states=ALL_STATES)


class CrontabError(ValueError):
    pass


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


def sync_schedules() -> int:
    """Make django-q2's cron Schedules match the crontab. Safe to run from every node."""
    from django_q.models import Schedule

    entries = crontab()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql.XACT_LOCK, [sql.LOCK_NAMESPACE, sql.CRON_SYNC_LOCK_KEY])
        wanted = {entry.schedule_name: entry for entry in entries}
        # Settings own the crontab: a schedule added by any other means (django-q2's API, an
        # old admin) is removed, since the broker would refuse its packages anyway.
        Schedule.objects.exclude(name__in=wanted).delete()
        now = timezone.now()
        for name, entry in wanted.items():
            schedule = Schedule.objects.filter(name=name).first() or Schedule(name=name)
            unchanged = schedule.pk and schedule.cron == entry.expression and schedule.next_run
            schedule.func = CRON_FUNCTION
            schedule.args = repr((entry.worker, entry.expression))
            schedule.kwargs = ""
            schedule.schedule_type = Schedule.CRON
            schedule.cron = entry.expression
            schedule.repeats = -1
            schedule.intended_date_kwarg = "slot"
            schedule.cluster = None
            if not unchanged:
                schedule.next_run = next_slot(entry.expression, now)
            schedule.save()
    return len(entries)


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
    return worker.enqueue(
        args, meta={"cron_expr": expression, "cron_slot": slot_utc}, unique=SLOT_UNIQUE, **options
    )


def job_from_schedule_package(task: dict[str, Any]):
    """What the broker does with a package from django-q2's scheduler."""
    func = task.get("func")
    name = (
        func
        if isinstance(func, str)
        else f"{getattr(func, '__module__', '')}.{getattr(func, '__name__', '')}"
    )
    if name != CRON_FUNCTION:
        raise ValueError(
            f"django-q2 task '{name}' cannot be queued here: this project's broker is the job "
            f"engine. Define a Worker and insert its job (workflows.jobs.insert)."
        )
    kwargs = dict(task.get("kwargs") or {})
    kwargs.pop("q_options", None)
    return insert_cron_job(*task.get("args", ()), **kwargs)
