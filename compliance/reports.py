"""Weekly and monthly compliance reports, computed from the records and stored."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count

from compliance.models import Alert, Report, ReportKind, RetentionRun


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(settings.DISPLAY_TIME_ZONE)).strftime("%d/%m/%Y %H:%M")


def _job_stats(start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Per queue: jobs completed and discarded in the period, and failed attempts in it."""
    stats: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT queue,
                   count(*) FILTER (WHERE state = 'completed' AND completed_at >= %(s)s
                                    AND completed_at < %(e)s),
                   count(*) FILTER (WHERE state = 'discarded' AND discarded_at >= %(s)s
                                    AND discarded_at < %(e)s),
                   coalesce(sum((SELECT count(*) FROM jsonb_array_elements(errors) e
                                  WHERE (e->>'at')::timestamptz >= %(s)s
                                    AND (e->>'at')::timestamptz < %(e)s)), 0)
              FROM jobs_job
             WHERE inserted_at < %(e)s
             GROUP BY queue ORDER BY queue
            """,
            {"s": start, "e": end},
        )
        for queue, completed, discarded, failed in cursor.fetchall():
            stats[queue] = {"completed": completed, "failed": int(failed), "discarded": discarded}
    return stats


def report_data(start: datetime, end: datetime) -> dict[str, Any]:
    from workflows.medical.models import Stage, StageOutcome, StageResult

    results = StageResult.objects.filter(created_at__gte=start, created_at__lt=end)
    lgpd = results.filter(stage=Stage.LGPD)
    cfm_rules: Counter[str] = Counter()
    for findings in results.filter(stage=Stage.CFM).values_list("findings", flat=True):
        cfm_rules.update(finding["rule"] for finding in findings)
    retention: Counter[str] = Counter()
    for counts in RetentionRun.objects.filter(
        started_at__gte=start, started_at__lt=end, dry_run=False
    ).values_list("counts", flat=True):
        retention.update(counts)
    alerts = Alert.objects.filter(created_at__gte=start, created_at__lt=end)
    return {
        "period_local": f"{_local(start)} to {_local(end)} ({settings.DISPLAY_TIME_ZONE})",
        "posts_analysed": lgpd.values("post").distinct().count(),
        "posts_with_patient_data": lgpd.exclude(outcome=StageOutcome.PASSED)
        .values("post")
        .distinct()
        .count(),
        "posts_blocked": results.filter(outcome=StageOutcome.BLOCKED)
        .values("post")
        .distinct()
        .count(),
        "cfm_findings_by_rule": dict(sorted(cfm_rules.items())),
        "jobs_by_queue": _job_stats(start, end),
        "jobs_retained_note": "completed jobs are kept 7 days; older periods count what remains",
        "retention_actions": dict(sorted(retention.items())),
        "alerts_raised": dict(alerts.values_list("kind").annotate(n=Count("id")).order_by("kind")),
        "alerts_acknowledged": Alert.objects.filter(
            acknowledged_at__gte=start, acknowledged_at__lt=end
        ).count(),
    }


def report_build(*, kind: str, start: datetime, end: datetime) -> Report:
    report, _ = Report.objects.update_or_create(
        kind=kind,
        period_start=start,
        defaults={"period_end": end, "data": report_data(start, end)},
    )
    return report


def weekly_report(*, ending: datetime) -> Report:
    """The seven days before the run's slot (Sundays 02:00 UTC)."""
    end = ending.replace(second=0, microsecond=0)
    return report_build(kind=ReportKind.WEEKLY, start=end - timedelta(days=7), end=end)


def monthly_audit(*, ending: datetime) -> Report:
    """The calendar month (UTC) before the run's slot (the 1st, 01:00 UTC)."""
    end = ending.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - timedelta(days=1)).replace(day=1)
    return report_build(kind=ReportKind.MONTHLY, start=start, end=end)
