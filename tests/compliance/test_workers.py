"""The compliance workers run through the engine's real execution path (insert + drain_queue):
each does its service's work for its cron slot, and a malformed slot is discarded clearly."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from compliance.access import access_ledger_record
from compliance.models import Alert, Report, RetentionRun
from compliance.workers import (
    ComplianceAuditWorker,
    LGPDRetentionWorker,
    MonthlyAuditWorker,
    WeeklyReportWorker,
)
from tests.factories import ConsentFactory, PostFactory, UserFactory
from workflows.jobs import Job, insert
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db


def run(worker, *, slot=None) -> Job:
    meta = {} if slot is None else {"cron_slot": slot}
    job = insert(worker.new({}, meta=meta))
    drain_queue(worker.queue)
    return Job.objects.get(pk=job.pk)


def test_the_weekly_report_covers_the_seven_days_before_its_slot_and_is_stored_once():
    slot = "2026-11-29T02:00:00+00:00"
    assert run(WeeklyReportWorker, slot=slot).state == "completed"
    assert run(WeeklyReportWorker, slot=slot).state == "completed"
    report = Report.objects.get(kind="weekly")
    assert report.period_start == datetime(2026, 11, 22, 2, tzinfo=UTC)
    assert report.period_end == datetime(2026, 11, 29, 2, tzinfo=UTC)
    assert report.data["period_local"] == "21/11/2026 23:00 to 28/11/2026 23:00 (America/Sao_Paulo)"
    assert {"posts_analysed", "jobs_by_queue", "alerts_raised"} <= set(report.data)


def test_the_monthly_audit_covers_the_previous_calendar_month():
    assert run(MonthlyAuditWorker, slot="2026-12-01T01:00:00+00:00").state == "completed"
    report = Report.objects.get(kind="monthly")
    assert report.period_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert report.period_end == datetime(2026, 12, 1, tzinfo=UTC)


def test_the_retention_worker_records_each_run_and_a_second_run_changes_nothing():
    assert run(LGPDRetentionWorker).state == "completed"
    assert run(LGPDRetentionWorker).state == "completed"
    first, second = RetentionRun.objects.order_by("started_at")
    assert not first.dry_run and first.finished_at is not None
    assert all(count == 0 for count in second.counts.values())


def test_the_audit_worker_raises_the_security_alert_for_a_read_without_its_audit_entry():
    post = PostFactory(phi_detected=True)
    for user in [post.author, UserFactory()]:
        ConsentFactory(user=user)
    access_ledger_record(user=post.author, obj=post, channel="api")
    later = (timezone.now() + timezone.timedelta(minutes=10)).isoformat()
    assert run(ComplianceAuditWorker, slot=later).state == "completed"
    assert Alert.objects.get(code="unlogged_phi_access").kind == "security"


@pytest.mark.parametrize("worker", [WeeklyReportWorker, MonthlyAuditWorker, ComplianceAuditWorker])
@pytest.mark.parametrize("slot", ["yesterday", "2026-11-29T02:00:00", 12345])
def test_a_malformed_cron_slot_is_discarded_with_a_clear_reason(worker, slot):
    job = run(worker, slot=slot)
    assert job.state == "discarded" and len(job.errors) == 1
    assert "meta.cron_slot must be an ISO 8601 date-time with a time zone" in job.errors[0]["error"]
    assert not Report.objects.exists()
