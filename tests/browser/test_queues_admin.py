"""Queue admin: pause through the change-list action, scale through the change form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.admin_ui import result_rows, run_action
from workflows.jobs.models import Queue

pytestmark = pytest.mark.browser


@pytest.fixture
def queues(transactional_db):
    from workflows.jobs.api.queues import sync_queues

    sync_queues()
    return {queue.name: queue for queue in Queue.objects.all()}


@pytest.fixture
def queue_notifications(transactional_db):
    """A second connection LISTENing on the engine's channel, as every node does: returns
    read(), the payloads (queue names) received within a few seconds, at least one."""
    from django.db import connection

    from workflows.jobs.store import sql

    listener = connection.get_new_connection(connection.get_connection_params())
    listener.autocommit = True
    listener.execute(f"LISTEN {sql.NOTIFY_CHANNEL}")

    def read() -> list[str]:
        return [note.payload for note in listener.notifies(timeout=5, stop_after=1)]

    yield read
    listener.close()


def test_queue_admin_pauses_by_action_and_scales_by_the_change_form(
    page, queues, operator, queue_notifications
):
    before = queues["email"]
    assert not before.paused
    new_limit = before.limit + 7

    page.goto("/admin/jobs/queue/")
    expect(result_rows(page)).to_have_count(len(queues))
    run_action(page, "Pause selected queues", "email")

    expect(page.locator(".messagelist .success")).to_have_text("Paused 1 queue(s).")
    assert Queue.objects.get(name="email").paused is True
    assert not Queue.objects.exclude(name="email").filter(paused=True).exists()

    page.goto("/admin/jobs/queue/email/change/")
    expect(page.locator("input[name=limit]")).to_have_value(str(before.limit))
    expect(page.locator("input[name=paused]")).to_be_checked()
    expect(page.locator("input[name=name], input[name=configured_limit]")).to_have_count(0)

    for wrong in ("0", "-5"):  # a queue is stopped by pausing it, not by limit 0
        page.fill("input[name=limit]", wrong)
        page.click("input[name=_save]")
        expect(page.locator(".errornote")).to_be_visible()
        # The CLI's message (manage.py jobs scale email 0), not a constraint's name.
        expect(page.locator(".field-limit .errorlist")).to_have_text(
            "a queue limit must be a whole number >= 1 and at most 1,000,000; "
            f"got {wrong}. To stop a queue, pause it."
        )
        assert Queue.objects.get(name="email").limit == before.limit

    page.fill("input[name=limit]", str(new_limit))
    page.click("input[name=_save]")

    page.wait_for_url(re.compile(r"/admin/jobs/queue/$"))
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    after = Queue.objects.get(name="email")
    assert after.limit == new_limit
    assert after.configured_limit == before.configured_limit  # settings' value kept apart
    assert after.paused is True  # saving the limit did not resume the queue
    # scale_queue tells the nodes at once, so the new limit applies without waiting a poll.
    assert queue_notifications() == ["email"]
    email_row = result_rows(page).filter(has_text="email")
    expect(email_row.locator("td.field-limit")).to_have_text(str(new_limit))
