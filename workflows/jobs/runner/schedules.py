"""The crontab as django-q2 Schedules, and the packages django-q2's scheduler sends back.

Each crontab entry becomes a `Schedule` of type cron (croniter, UTC). django-q2's scheduler
(every ~30 s in each cluster, row-locked) fires a due schedule by handing a task package to the
broker, which turns it into the slot's job (workflows.jobs.node.cron.insert_cron_job).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from workflows.jobs.node.cron import (
    CRON_FUNCTION,
    crontab,
    insert_cron_job,
    next_slot,
)
from workflows.jobs.store.maintenance import lock_cron_sync


def sync_schedules() -> int:
    """Make django-q2's cron Schedules match the crontab. Safe to run from every node."""
    from django_q.models import Schedule

    entries = crontab()
    with transaction.atomic():
        lock_cron_sync()
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
