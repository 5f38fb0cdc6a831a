"""Fixtures for the browser tests: one headless chromium shared by the folder, a fresh context
per test, the admin served by pytest-django's live_server on the real test database."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.browser.admin_ui import PASSWORD, log_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def browser():
    """Debian's chromium, launched once for all the tests of this folder; never downloads one.

    While Playwright's sync API is started, its event loop counts as running in this thread,
    so Django would refuse the tests' own ORM calls (factories, assertions), which are plain
    synchronous code: DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly that span. Package scope
    stops Playwright when the folder is done, so tests that run after it in the same session
    see neither the running loop nor the relaxed check."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package 'chromium'): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield launched
            launched.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) for each test, pointed at the live server."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@functools.cache
def _password_hash() -> str:
    """PASSWORD hashed once per session with the project's own hasher (PBKDF2 costs about a
    second a time); each user gets a copy, and the login form still checks it for real."""
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)


@pytest.fixture
def make_user(transactional_db):
    """make_user(role, **fields) -> a staff user of that role, password PASSWORD."""
    import factory

    from tests.factories import UserFactory

    def make(role: str, **fields):
        fields.setdefault("password", factory.Transformer.Force(_password_hash()))
        return UserFactory(role=role, **fields)

    return make


@pytest.fixture
def login(page):
    """login(user) signs the user in through the login form; returns the page."""

    def sign_in(user):
        return log_in(page, user.email)

    return sign_in


@pytest.fixture
def operator(make_user, login):
    """An operations user, signed in."""
    user = make_user("operations")
    login(user)
    return user


@pytest.fixture
def dead_job(executions):
    """A FailingWorker job run by the engine until it was discarded after its 3 attempts."""
    from tests.support.workers import FailingWorker
    from workflows.jobs.testing import drain_queue

    job = FailingWorker.enqueue({"post_id": 4242, "note": "dead-letter-fixture"})
    counts = drain_queue(job.queue, with_scheduled=True)
    assert counts["discard"] == 1, counts
    job.refresh_from_db()
    assert job.state == "discarded"
    assert [entry["attempt"] for entry in job.errors] == [1, 2, 3]
    return job
