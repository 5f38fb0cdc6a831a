"""Every admin page loads under the enforced Content-Security-Policy without a violation."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.admin_pages import admin_page_urls, one_row_of_every_admin_model
from tests.browser.csp import ViolationWatch
from tests.support.polling import wait_until

pytestmark = pytest.mark.browser


def test_the_watch_sees_a_refused_resource(page, make_user, login):
    """The check below would see a violation: an image from another origin is refused."""
    watch = ViolationWatch(page.context)
    login(make_user("operations"))
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', "
        "'<img src=\"https://elsewhere.invalid/pixel.png\">')"
    )
    seen: list[str] = []
    wait_until(lambda: seen.extend(watch.take(page)) or seen, timeout=10)
    assert any("img-src" in line for line in seen), seen


def test_every_admin_page_loads_with_the_policy_enforced_and_nothing_refused(
    page, make_user, login, dead_job
):
    administrator = make_user("admin")
    rows = one_row_of_every_admin_model(user=administrator)
    watch = ViolationWatch(page.context)
    login(administrator)
    assert watch.take(page) == []

    urls = [*admin_page_urls(rows), reverse("two_factor_enroll")]
    assert len(urls) > 50, urls
    problems = {}
    statuses = {}
    for url in urls:
        response = page.goto(url)
        page.wait_for_load_state("load")
        assert response is not None
        statuses[url] = response.status
        policy = response.headers.get("content-security-policy", "")
        if "default-src 'self'" not in policy or "script-src 'self'" not in policy:
            problems[url] = [f"policy header missing or weak: {policy!r}"]
            continue
        assert "content-security-policy-report-only" not in response.headers
        if seen := watch.take(page):
            problems[url] = seen
    assert problems == {}
    assert all(status < 500 for status in statuses.values()), statuses
    assert sum(status == 200 for status in statuses.values()) > 40, statuses


def test_the_lockout_page_loads_with_the_policy_and_nothing_refused(page, make_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    user = make_user("operations")
    watch = ViolationWatch(page.context)
    page.goto("/admin/login/?next=/admin/")
    for _ in range(2):
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", "not-the-password")
        page.click("#login-form [type=submit]")
    expect(page.locator(".lockout .errornote")).to_contain_text("Sign-in is locked")
    assert watch.take(page) == []
