"""Helpers that drive the admin the way a person does: the login form, change-list actions."""

from __future__ import annotations

import re

PASSWORD = "a-long-test-password"


def log_in(page, email: str, password: str = PASSWORD):
    """Sign in through the real admin login form and wait for the admin index."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("#login-form [type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    return page


def run_action(page, action_label: str, *values) -> None:
    """On a change list: tick the rows whose checkbox value is in `values`, run the action."""
    for value in values:
        page.check(f"input[name=_selected_action][value='{value}']")
    page.select_option("select[name=action]", label=action_label)
    page.click("button[name=index]")


def result_rows(page):
    """The rows of a change list."""
    return page.locator("#result_list tbody tr")
