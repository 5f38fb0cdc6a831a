"""Weekly and monthly reports: stored, idempotent per period, shown with a chart."""

from datetime import UTC, datetime

import pytest

from compliance.models import Alert, Report
from compliance.reports import monthly_audit, weekly_report
from tests.factories import PostFactory
from workflows.medical.models import StageResult

pytestmark = pytest.mark.django_db
SUNDAY_SLOT = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def _results():
    post = PostFactory()
    StageResult.objects.create(
        post=post,
        stage="s21_lgpd_analysis",
        content_version=1,
        analyzer="lgpd",
        outcome="blocked",
        score=95,
    )
    other = PostFactory()
    StageResult.objects.create(
        post=other,
        stage="s41_cfm_validation",
        content_version=1,
        analyzer="cfm",
        outcome="blocked",
        findings=[
            {"rule": "superlative_title"},
            {"rule": "missing_crm"},
            {"rule": "superlative_title"},
        ],
    )
    StageResult.objects.update(created_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    Alert.objects.create(
        kind="legal", code="missing_lgpd_consent", severity="critical", summary="x"
    )
    Alert.objects.update(created_at=datetime(2026, 11, 26, tzinfo=UTC))


def test_the_weekly_report_counts_the_week_before_its_slot():
    _results()
    report = weekly_report(ending=SUNDAY_SLOT)
    data = report.data
    assert (report.period_start, report.period_end) == (
        datetime(2026, 11, 22, 2, 0, tzinfo=UTC),
        SUNDAY_SLOT,
    )
    assert data["posts_analysed"] == 1 and data["posts_with_patient_data"] == 1
    assert data["posts_blocked"] == 2
    assert data["cfm_findings_by_rule"] == {"missing_crm": 1, "superlative_title": 2}
    assert data["alerts_raised"] == {"legal": 1}
    assert data["period_local"] == "21/11/2026 23:00 to 28/11/2026 23:00 (America/Sao_Paulo)"


def test_running_a_report_again_for_its_period_replaces_it():
    weekly_report(ending=SUNDAY_SLOT)
    weekly_report(ending=SUNDAY_SLOT)
    assert Report.objects.count() == 1


def test_the_monthly_audit_covers_the_previous_calendar_month():
    report = monthly_audit(ending=datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    assert report.period_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert report.period_end == datetime(2026, 12, 1, tzinfo=UTC)


def test_the_admin_shows_a_report_as_a_page_with_a_chart(admin_client):
    _results()
    report = weekly_report(ending=SUNDAY_SLOT)
    page = admin_client.get(f"/admin/compliance/report/{report.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "CFM findings by rule" in html and "superlative_title" in html
    assert "America/Sao_Paulo" in html
