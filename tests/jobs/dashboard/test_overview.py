"""The overview's charts read the per-minute metrics (jobs_metric), not the jobs table."""

from __future__ import annotations

import html
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from workflows.jobs.dashboard.present import utc_text
from workflows.jobs.models import JobMetric

pytestmark = pytest.mark.django_db

WORKER = "tests.support.workers.RecordingWorker"


def test_the_charts_show_executions_failures_and_discards_per_minute_and_per_hour(client_as):
    minute = timezone.now().astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    for outcome, count in (("completed", 4), ("failed", 2), ("discarded", 1)):
        JobMetric.objects.create(
            minute=minute,
            queue="default",
            worker=WORKER,
            outcome=outcome,
            count=count,
            wait_ms_buckets=[0, 0, count, 0, 0, 0, 0, 0, 0],
        )
    JobMetric.objects.create(  # two days ago: only in the per-hour chart
        minute=minute - timedelta(days=2),
        queue="default",
        worker=WORKER,
        outcome="completed",
        count=9,
    )
    page = html.unescape(
        client_as("operations").get(reverse("admin:jobs_overview_changelist")).content.decode()
    )
    per_minute = page[page.index('id="jobs-chart-per_minute"') : page.index("</figure>")]
    assert 'data-outcome="completed" data-total="4"' in per_minute
    assert 'data-outcome="failed" data-total="2"' in per_minute
    assert 'data-outcome="discarded" data-total="1"' in per_minute
    assert f"<title>{utc_text(minute)}: 4 completed</title>" in per_minute
    per_hour = page[page.index('id="jobs-chart-per_hour"') :]
    assert 'data-outcome="completed" data-total="13"' in per_hour
    assert "≤ 100 ms" in page
    updated = page[page.index('id="jobs-updated">') :]
    assert updated[len('id="jobs-updated">') :].startswith(
        utc_text(timezone.now())[:13]
    )  # wait p50 and p95 from the buckets of the last hour
