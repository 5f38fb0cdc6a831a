"""The admin login form, in a real browser against the live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.admin_ui import PASSWORD

pytestmark = pytest.mark.browser


def test_login_page_renders_rejects_a_wrong_password_and_accepts_the_right_one(page, make_user):
    user = make_user("operations")

    page.goto("/admin/")
    page.wait_for_url(re.compile(r"/admin/login/\?next=/admin/$"))

    response = page.goto("/admin/login/?next=/admin/")
    assert response is not None and response.status == 200
    expect(page.locator("#login-form input[name=username]")).to_be_visible()
    expect(page.locator("#login-form input[name=password]")).to_have_attribute("type", "password")

    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", "not-the-password")
    page.click("#login-form [type=submit]")
    expect(page.locator(".errornote")).to_contain_text(
        "Please enter the correct email and password"
    )
    assert "/admin/login/" in page.url

    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    expect(page.locator("#site-name")).to_have_text("Healthcare CMS")
    expect(page.locator("#content h1")).to_have_text("Content, compliance and jobs")
    expect(page.locator("#user-tools")).to_contain_text("Welcome")
    expect(page.locator("#login-form")).to_have_count(0)
