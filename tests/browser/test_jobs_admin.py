"""The job dashboard and the dead-letter browser, used by an operations user."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.admin_ui import result_rows, run_action
from tests.support.workers import RecordingWorker
from workflows.jobs.models import Job

pytestmark = pytest.mark.browser

RAW_CPF = "529.982.247-25"  # in FailingWorker's error message; the engine must mask it


def test_job_list_filters_by_state_and_the_detail_shows_the_error_history_read_only(
    page, dead_job, operator
):
    waiting = RecordingWorker.enqueue({"post_id": 1})
    later = RecordingWorker.enqueue({"post_id": 2}, schedule_in=3600)

    page.goto("/admin/jobs/job/")
    expect(result_rows(page)).to_have_count(3)
    for job in (dead_job, waiting, later):
        expect(page.locator(f"input[name=_selected_action][value='{job.pk}']")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("FailingWorker")
    expect(page.locator("#result_list")).to_contain_text("RecordingWorker")

    state_filter = page.locator("#changelist-filter details[data-filter-title=state]")
    state_filter.get_by_role("link", name="Discarded", exact=True).click()
    page.wait_for_url(re.compile(r"state__exact=discarded"))
    expect(result_rows(page)).to_have_count(1)
    row = result_rows(page).first
    expect(row.locator("input[name=_selected_action]")).to_have_value(str(dead_job.pk))
    expect(row).to_contain_text("FailingWorker")
    expect(row.locator("td.field-state")).to_have_text("Discarded")
    expect(row.locator("td.field-attempts")).to_have_text("3/3")

    row.get_by_role("link", name=str(dead_job.pk), exact=True).click()
    page.wait_for_url(re.compile(rf"/admin/jobs/job/{dead_job.pk}/change/"))
    errors = page.locator(".jobs-error")
    expect(errors).to_have_count(3)
    for index, attempt in enumerate((1, 2, 3)):
        expect(errors.nth(index).locator("strong")).to_contain_text(f"attempt {attempt} at ")
        expect(errors.nth(index).locator("pre")).to_contain_text("RuntimeError: boom for CPF")
        expect(errors.nth(index).locator("pre")).to_contain_text(f"on attempt {attempt}")
    expect(page.locator("#content")).not_to_contain_text(RAW_CPF)
    # Operations has no jobs.view_job_args: keys shown, values masked (test_job_args_admin.py).
    args = page.locator("div.field-masked_args pre.jobs-json")
    expect(args).to_contain_text('"post_id": "***"')
    expect(args).to_contain_text('"note": "***"')
    # Read-only: no save buttons, no editable field for args or anything else.
    form = page.locator("#content-main form")
    expect(form.locator("[name=_save], [name=_continue], [name=_addanother]")).to_have_count(0)
    expect(form.locator("textarea, select, input:not([type=hidden])")).to_have_count(0)
    expect(page.get_by_role("link", name="Close")).to_be_visible()


def test_retry_and_cancel_actions_go_through_the_engine(page, dead_job, operator):
    scheduled = RecordingWorker.enqueue({"post_id": 7}, schedule_in=3600)
    bystander = RecordingWorker.enqueue({"post_id": 8}, schedule_in=3600)
    assert scheduled.state == bystander.state == "scheduled"

    page.goto("/admin/jobs/job/?state__exact=discarded")
    run_action(page, "Retry selected jobs", dead_job.pk)
    expect(page.locator(".messagelist .success")).to_have_text("1 job(s) put back to available.")
    dead_job.refresh_from_db()
    assert dead_job.state == "available"
    assert dead_job.discarded_at is None
    assert dead_job.max_attempts > dead_job.attempt  # it may run again
    assert dead_job.errors[-1]["attempt"] == 3  # the history is kept

    page.goto("/admin/jobs/job/")
    run_action(page, "Cancel selected jobs", scheduled.pk)
    expect(page.locator(".messagelist .success")).to_have_text("1 job(s) cancelled.")
    scheduled.refresh_from_db()
    bystander.refresh_from_db()
    assert scheduled.state == "cancelled"
    assert scheduled.cancelled_at is not None
    assert bystander.state == "scheduled"
    assert Job.objects.get(pk=dead_job.pk).state == "available"


def test_dead_letters_list_the_discarded_job_with_its_last_error_and_retry_it(
    page, dead_job, operator
):
    waiting = RecordingWorker.enqueue({"post_id": 3})

    page.goto("/admin/jobs/deadletter/")
    expect(result_rows(page)).to_have_count(1)
    row = result_rows(page).first
    expect(row.locator("input[name=_selected_action]")).to_have_value(str(dead_job.pk))
    last_line = dead_job.errors[-1]["error"].strip().splitlines()[-1]
    assert last_line.startswith("RuntimeError: boom for CPF")
    expect(row.locator("td.field-short_error")).to_have_text(last_line)
    expect(row).to_contain_text("on attempt 3")
    expect(page.locator("#result_list")).not_to_contain_text(RAW_CPF)
    # Dead letters are only retried here, not cancelled.
    expect(page.locator("select[name=action] option")).to_have_text(
        ["---------", "Retry selected jobs"]
    )

    run_action(page, "Retry selected jobs", dead_job.pk)

    expect(page.locator(".messagelist .success")).to_have_text("1 job(s) put back to available.")
    expect(result_rows(page)).to_have_count(0)
    dead_job.refresh_from_db()
    assert dead_job.state == "available"
    waiting.refresh_from_db()
    assert waiting.state == "available"


def test_job_list_filters_by_queue_worker_and_priority(page, dead_job, operator):
    urgent_email = RecordingWorker.enqueue({"n": 1}, queue="email", priority=0)
    low_email = RecordingWorker.enqueue({"n": 2}, queue="email", priority=7)

    def shown_ids() -> set[str]:
        boxes = page.locator("input[name=_selected_action]")
        return {boxes.nth(i).get_attribute("value") for i in range(boxes.count())}

    def pick(title: str, link: str) -> None:
        panel = page.locator(f"#changelist-filter details[data-filter-title='{title}']")
        panel.get_by_role("link", name=link, exact=True).click()
        page.wait_for_load_state()

    page.goto("/admin/jobs/job/")
    expect(result_rows(page)).to_have_count(3)
    pick("queue", "email")
    expect(result_rows(page)).to_have_count(2)
    assert shown_ids() == {str(urgent_email.pk), str(low_email.pk)}
    pick("priority", "7")
    expect(result_rows(page)).to_have_count(1)
    assert shown_ids() == {str(low_email.pk)}

    page.goto("/admin/jobs/job/")
    pick("worker", "FailingWorker")
    expect(result_rows(page)).to_have_count(1)
    assert shown_ids() == {str(dead_job.pk)}
