"""The operations dashboard (/admin/jobs/overview/) used the way an operator does, in headless
chromium at 1,280 px. With DASHBOARD_SCREENSHOTS=1 each test also refreshes the screenshot
docs/dashboard.md shows (off by default, so a test run leaves the checkout as it was)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from compliance.models import AuditLog
from tests.support.workers import RecordingWorker
from workflows.jobs import insert_all
from workflows.jobs.models import Job, Queue
from workflows.jobs.node.cron import insert_cron_job

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"
WORKER = "tests.support.workers.RecordingWorker"


def _shot(page, name: str) -> None:
    if os.environ.get("DASHBOARD_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _discarded(count: int, **options) -> list[int]:
    ids = [
        job.pk for job in insert_all(RecordingWorker.new({"n": n}, **options) for n in range(count))
    ]
    Job.objects.filter(pk__in=ids).update(state="discarded", discarded_at=timezone.now())
    return ids


def _some_metrics() -> None:
    """Per-minute metrics as the leader writes them: the last 40 minutes, a few per minute."""
    from datetime import UTC, timedelta

    from workflows.jobs.models import JobMetric

    now = timezone.now().astimezone(UTC).replace(second=0, microsecond=0)
    JobMetric.objects.bulk_create(
        JobMetric(
            minute=now - timedelta(minutes=n),
            queue="default",
            worker=WORKER,
            outcome=outcome,
            count=count,
            wait_ms_buckets=[0, 3, 1, 0, 0, 0, 0, 0, 0],
        )
        for n in range(1, 41)
        for outcome, count in (
            ("completed", 20 + n % 7),
            ("failed", n % 3),
            ("discarded", n % 5 // 4),
        )
        if count
    )


def _actions(action: str):
    return AuditLog.objects.filter(action=f"job.{action}")


def test_the_overview_is_the_first_jobs_entry_and_its_counts_follow_inserts_without_reload(
    page, operator
):
    _some_metrics()
    page.goto("/admin/")
    jobs_section = page.locator("#content-main .app-jobs")
    expect(jobs_section.locator("tbody tr").first).to_contain_text("Dashboard")
    jobs_section.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(re.compile(r"/admin/jobs/overview/$"))
    expect(page.locator("#jobs-refresh")).to_have_value("5")  # the default
    page.select_option("#jobs-refresh", "1")
    available = page.locator("#jobs-overview-queues tr[data-queue=default] [data-count=available]")
    expect(available).to_have_text("0")
    page.evaluate("window.notReloaded = true")

    RecordingWorker.enqueue({"post_id": 1})
    RecordingWorker.enqueue({"post_id": 2})
    expect(available).to_have_text("2")
    Job.objects.filter(state="available").update(state="discarded", discarded_at=timezone.now())
    expect(available).to_have_text("0")
    expect(
        page.locator("#jobs-overview-queues tr[data-queue=default] [data-count=discarded]")
    ).to_have_text("2")
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#jobs-chart-per_minute [data-outcome=completed] rect")).to_have_count(40)
    _shot(page, "overview")

    page.reload()  # the choice is remembered for this user
    expect(page.locator("#jobs-refresh")).to_have_value("1")
    page.select_option("#jobs-refresh", "0")
    page.reload()
    expect(page.locator("#jobs-refresh")).to_have_value("0")


def test_search_finds_by_id_worker_state_and_args_for_the_roles_that_may(page, make_user, login):
    target = RecordingWorker.enqueue({"post_id": 31337}, tags=["nightly"], schedule_in=600)
    other = RecordingWorker.enqueue({"post_id": 1}, tags=["weekly"])
    [dead] = _discarded(1)
    login(make_user("dpo"))

    def search(text: str):
        page.goto("/admin/jobs/overview/jobs/")
        page.fill("#jobs-q", text)
        page.press("#jobs-q", "Enter")
        page.wait_for_url(re.compile(r"\?q="))
        return page.locator("#jobs-list tbody tr[data-job]")

    for text, expected in (
        (f"id:{target.pk}", [target.pk]),
        ("worker:RecordingWorker", [dead, other.pk, target.pk]),
        ("state:discarded", [dead]),
        ("args.post_id:31337", [target.pk]),
        ("tags:nightly", [target.pk]),
    ):
        rows = search(text)
        expect(rows).to_have_count(len(expected))
        for index, job_id in enumerate(expected):
            expect(rows.nth(index)).to_have_attribute("data-job", str(job_id))
    row = search(f"id:{target.pk}").first
    expect(row.locator(".jobs-worker")).to_have_attribute("title", WORKER)
    expect(row.locator(".jobs-time").first).to_contain_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ")
    )
    expect(row.locator(".jobs-time").first).to_contain_text("in 9 min")
    search("colour:red")
    expect(page.locator("#jobs-search-error")).to_contain_text("unknown search key 'colour'")
    _shot(page, "search-error")

    search("state:scheduled,available")
    expect(page.locator(".jobs-state-tabs [data-state=discarded] .jobs-count")).to_have_text("1")
    _shot(page, "jobs")


def test_an_operator_cannot_search_args_and_sees_them_masked(page, operator, dead_job):
    page.goto("/admin/jobs/overview/jobs/?q=args.post_id:4242")
    expect(page.locator("#jobs-search-error")).to_contain_text(
        "needs the permission to view job args"
    )
    expect(page.locator("#jobs-list tbody tr[data-job]")).to_have_count(0)
    page.goto(f"/admin/jobs/overview/jobs/{dead_job.pk}/")
    expect(page.locator("#jobs-args")).to_contain_text('"post_id": "***"')
    expect(page.locator("#content")).not_to_contain_text("4242")
    expect(page.locator("#content")).not_to_contain_text("529.982.247-25")


def test_the_job_page_shows_args_first_the_last_error_open_and_retries_after_confirming(
    page, operator, dead_job
):
    page.goto(f"/admin/jobs/overview/jobs/{dead_job.pk}/")
    errors = page.locator("details.jobs-error")
    expect(errors).to_have_count(3)
    expect(errors.nth(0).locator("summary")).to_contain_text("attempt 3 at ")
    expect(errors.nth(0)).to_have_attribute("open", "")
    expect(errors.nth(1)).not_to_have_attribute("open", "")
    expect(errors.nth(0).locator("pre")).to_contain_text("RuntimeError: boom for CPF")
    expect(page.locator("#content")).not_to_contain_text("529.982.247-25")
    timeline = page.locator("#jobs-timeline li")
    expect(timeline.first).to_contain_text("inserted")
    expect(timeline.nth(1)).to_contain_text("attempt 1")
    expect(timeline.nth(1)).to_contain_text("failed")
    expect(timeline.nth(3)).to_contain_text("attempt 3")
    expect(timeline.nth(3)).to_contain_text("discarded")
    expect(timeline.last).to_contain_text("discarded")
    expect(page.locator("#jobs-delete")).to_have_count(0)  # operations may not delete
    # Args come before the errors on the page.
    assert page.evaluate(
        "document.querySelector('#jobs-args').compareDocumentPosition("
        "document.querySelector('details.jobs-error')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    _shot(page, "job")

    page.click("#jobs-retry")
    expect(page.locator(".jobs-confirm-text")).to_have_text(
        f"Retry 1 job: job {dead_job.pk} (FailingWorker)?"
    )
    dead_job.refresh_from_db()
    assert dead_job.state == "discarded"
    page.get_by_role("button", name="Yes, retry 1 job").click()
    expect(page.locator(".messagelist .success")).to_have_text("1 job(s) put back to available.")
    dead_job.refresh_from_db()
    assert dead_job.state == "available"
    assert _actions("retry").count() == 1


def test_bulk_cancel_of_a_selection_and_retry_of_every_match_across_pages(page, operator):
    waiting = [RecordingWorker.enqueue({"n": n}, schedule_in=3600).pk for n in range(3)]
    dead = _discarded(55, tags=["batch"])  # more than the 50 of one page

    page.goto("/admin/jobs/overview/jobs/?q=state:scheduled")
    page.check(f"input[name=ids][value='{waiting[0]}']")
    page.check(f"input[name=ids][value='{waiting[1]}']")
    page.select_option("#jobs-bulk select[name=action]", "cancel")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator(".jobs-confirm-text")).to_contain_text("Cancel 2 jobs")
    page.get_by_role("button", name="Yes, cancel 2 jobs").click()
    expect(page.locator(".messagelist .success")).to_have_text("2 job(s) cancelled.")
    states = dict(Job.objects.filter(pk__in=waiting).values_list("pk", "state"))
    assert states == {waiting[0]: "cancelled", waiting[1]: "cancelled", waiting[2]: "scheduled"}

    page.goto("/admin/jobs/overview/jobs/?q=state:discarded+tags:batch")
    expect(page.locator("#jobs-list tbody tr[data-job]")).to_have_count(50)
    expect(page.locator("#jobs-older")).to_be_visible()
    page.select_option("#jobs-bulk select[name=action]", "retry")
    page.get_by_role("button", name="Apply to all matching").click()
    expect(page.locator(".jobs-confirm-text")).to_contain_text(
        "Retry 55 jobs: every job matching 'state:discarded tags:batch'?"
    )
    _shot(page, "bulk-confirm")
    page.get_by_role("button", name="Yes, retry 55 jobs").click()
    expect(page.locator(".messagelist .success")).to_have_text("55 job(s) put back to available.")
    assert Job.objects.filter(pk__in=dead, state="available").count() == 55
    [entry] = _actions("retry")
    assert entry.details["count"] == 55
    assert entry.details["filter"] == "state:discarded tags:batch"


def test_a_bulk_action_above_the_limit_is_refused(page, operator, settings):
    settings.JOBS = {**settings.JOBS, "bulk_limit": 3}
    _discarded(4)
    page.goto("/admin/jobs/overview/jobs/?q=state:discarded")
    page.select_option("#jobs-bulk select[name=action]", "retry")
    page.get_by_role("button", name="Apply to all matching").click()
    expect(page.locator(".messagelist .error")).to_contain_text(
        "More than 3 jobs match: a bulk retry is limited to 3 jobs (JOBS_BULK_LIMIT)."
    )
    assert Job.objects.filter(state="discarded").count() == 4


def test_pause_resume_and_scale_a_queue_on_the_queues_page(page, operator):
    page.goto("/admin/jobs/overview/queues/")
    row = page.locator("#jobs-queues tr[data-queue=default]")
    expect(row.locator(".jobs-status")).to_have_text("running")
    row.get_by_role("button", name="Pause").click()
    expect(page.locator(".messagelist .success")).to_have_text("Paused default")
    expect(row.locator(".jobs-status")).to_have_text("paused")
    assert Queue.objects.get(name="default").paused
    _shot(page, "queues")
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".jobs-status")).to_have_text("running")

    row.locator("input[name=limit]").fill("0")
    row.get_by_role("button", name="Scale").click()
    expect(page.locator(".messagelist .error")).to_have_text(
        "A queue limit must be a whole number >= 1 and at most 1,000,000; got 0. "
        "To stop a queue, pause it."
    )
    row.locator("input[name=limit]").fill("3")
    row.get_by_role("button", name="Scale").click()
    expect(page.locator(".messagelist .success")).to_have_text("Scaled default to 3")
    expect(row.locator("[data-count=limit]")).to_have_text("3")
    assert [_actions(a).count() for a in ("pause", "resume", "scale")] == [1, 1, 1]


def test_the_cron_page_lists_the_crontab_read_only_with_the_last_slot_s_job(
    page, operator, settings
):
    settings.JOBS = {**settings.JOBS, "crontab": [("0 3 * * *", WORKER, {"priority": 2})]}
    job = insert_cron_job(WORKER, "0 3 * * *", "2026-11-30T03:00:00+00:00")
    Job.objects.filter(pk=job.pk).update(state="completed", completed_at=timezone.now())
    page.goto("/admin/jobs/overview/cron/")
    row = page.locator(f"#jobs-cron tr[data-worker='{WORKER}']")
    expect(row).to_contain_text("0 3 * * *")
    expect(row).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d 03:00:00Z"))
    expect(row).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d 00:00:00 -03"))
    expect(row.locator(".jobs-slots li").first).to_contain_text(f"#{job.pk}")
    expect(row.locator(".jobs-slots li").first).to_contain_text("completed")
    expect(page.locator("#jobs-cron input, #jobs-cron button")).to_have_count(0)
    _shot(page, "cron")
    # django-q2's Schedule editor and task pages are not shown.
    for url in (
        "/admin/django_q/schedule/",
        "/admin/django_q/success/",
        "/admin/django_q/failure/",
    ):
        assert page.goto(url).status == 404


def test_the_nodes_page_and_the_dark_theme(page, operator):
    from workflows.jobs.models import Node

    Node.objects.create(name="web-1", host="h", pid=1, queues=["default"], concurrency=4)
    page.emulate_media(color_scheme="dark")
    page.goto("/admin/jobs/overview/nodes/")
    expect(page.locator("#jobs-nodes tr[data-node=web-1] .jobs-status")).to_have_text("alive")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    _shot(page, "nodes-dark")
