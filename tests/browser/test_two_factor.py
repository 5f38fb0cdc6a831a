"""Two-factor sign-in in a real browser: enrolling an authenticator, signing in with password
and code, recovery codes used once, and a staff user without a device kept to enrollment."""

from __future__ import annotations

import re
import time
from base64 import b32decode

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from compliance.models import AuditLog
from healthcare_cms.accounts import two_factor
from healthcare_cms.accounts.session_limits import SEEN_AT_KEY
from tests.browser.admin_pages import admin_page_urls, one_row_of_every_admin_model
from tests.browser.admin_ui import PASSWORD
from tests.browser.csp import ViolationWatch
from tests.support.polling import wait_until

pytestmark = pytest.mark.browser

ENROLL = re.compile(r"/admin/2fa/enroll/(\?.*)?$")
VERIFY = re.compile(r"/admin/2fa/verify/(\?.*)?$")
INDEX = re.compile(r"/admin/$")


@pytest.fixture(autouse=True)
def two_factor_on(settings):
    settings.ADMIN_REQUIRE_2FA = True


def code_for(secret_base32: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for this secret, now or `steps_ahead` periods on.
    Each code is accepted once, so a second sign-in uses the next period's (the device allows
    one period of clock drift)."""
    padded = secret_base32 + "=" * (-len(secret_base32) % 8)
    totp = TOTP(b32decode(padded), step=30, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def password_step(page, email: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form [type=submit]")


def give_code(page, code: str) -> None:
    page.fill("input[name=code]", code)
    page.click("#two-factor-verify-form [type=submit], #two-factor-enroll-form [type=submit]")


def wait_for_throttling_to_pass(user) -> None:
    """A wrong code makes each device wait before its next try (django-otp's throttling)."""
    wait_until(
        lambda: all(
            device.verify_is_allowed()[0]
            for model in (TOTPDevice, StaticDevice)
            for device in model.objects.filter(user=user)
        ),
        timeout=15,
        message="the throttling delay after a wrong code to pass",
    )


def sign_out(page) -> None:
    page.click("#logout-form [type=submit]")
    expect(page.locator("#content h1")).to_contain_text("Logged out")


def test_a_staff_user_enrolls_signs_out_and_signs_in_again_with_password_and_code(page, make_user):
    user = make_user("dpo")
    watch = ViolationWatch(page.context)

    password_step(page, user.email)
    page.wait_for_url(ENROLL)
    expect(page.locator("#two-factor-qr svg")).to_be_visible()
    secret = page.locator("#two-factor-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret

    give_code(page, "000000" if code_for(secret) != "000000" else "111111")
    expect(page.locator(".errorlist")).to_contain_text("That code does not match")
    wait_for_throttling_to_pass(user)
    give_code(page, code_for(secret))
    expect(page.locator("#recovery-codes li code")).to_have_count(10)
    codes = page.locator("#recovery-codes li code").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    page.click("#two-factor-continue")
    page.wait_for_url(INDEX)
    expect(page.locator("#content h1")).to_have_text("Content, compliance and jobs")
    assert TOTPDevice.objects.get(user=user).confirmed

    sign_out(page)
    password_step(page, user.email)
    page.wait_for_url(VERIFY)
    page.goto("/admin/compliance/auditlog/")
    page.wait_for_url(VERIFY)  # the password alone opens nothing
    give_code(page, code_for(secret, steps_ahead=1))
    page.wait_for_url(re.compile(r"/admin/compliance/auditlog/$"))
    expect(page.locator("#content h1")).to_contain_text("audit log")

    actions = list(
        AuditLog.objects.filter(object_id=str(user.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "signin.succeeded",
        "two_factor.enrolled",
        "signin.signed_out",
        "signin.succeeded",
        "signin.second_factor_verified",
    ]
    assert watch.take(page) == [], "the two-factor pages keep to the content security policy"


def test_a_recovery_code_signs_in_once(page, make_user):
    user = make_user("operations")
    device = two_factor.totp_enrollment_device(user=user)
    secret = two_factor.totp_secret_base32(device)
    codes = two_factor.totp_enrollment_confirm(user=user, device=device, token=code_for(secret))
    assert codes is not None

    password_step(page, user.email)
    page.wait_for_url(VERIFY)
    give_code(page, codes[0])
    page.wait_for_url(INDEX)
    assert two_factor.recovery_codes_left(user) == 9
    sign_out(page)

    password_step(page, user.email)
    page.wait_for_url(VERIFY)
    give_code(page, codes[0])
    expect(page.locator(".errorlist")).to_contain_text("That code was not accepted")
    assert VERIFY.search(page.url)

    wait_for_throttling_to_pass(user)
    give_code(page, codes[1])
    page.wait_for_url(INDEX)
    assert two_factor.recovery_codes_left(user) == 8
    methods = [
        entry.details["method"]
        for entry in AuditLog.objects.filter(action="signin.second_factor_verified")
    ]
    assert methods == ["recovery_code", "recovery_code"]
    assert AuditLog.objects.filter(action="signin.second_factor_failed").count() == 1


def test_an_operations_user_without_a_device_reaches_no_admin_page_but_enrollment(
    page, make_user, dead_job
):
    user = make_user("operations")
    rows = one_row_of_every_admin_model(user=make_user("admin"))
    password_step(page, user.email)
    page.wait_for_url(ENROLL)

    urls = admin_page_urls(rows)
    assert len(urls) > 50
    reached = {}
    for url in urls:
        page.goto(url)
        if not ENROLL.search(page.url):
            reached[url] = page.url
    assert reached == {}, "every admin page sends them to enrollment"
    expect(page.locator("#two-factor-qr svg")).to_have_count(1)
    expect(page.locator("#content-main")).not_to_contain_text("Dead letters")


def test_an_idle_session_ends_after_the_timeout(page, make_user, login, settings):
    settings.ADMIN_REQUIRE_2FA = False
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 2
    user = make_user("medical_reviewer")
    login(user)
    session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")

    def idle_for() -> float:
        return time.time() - SessionStore(session_key=session_key).load()[SEEN_AT_KEY]

    wait_until(lambda: idle_for() > 2.5, timeout=30, message="the session to sit idle")
    page.goto("/admin/content/post/")
    page.wait_for_url(re.compile(r"/admin/login/\?next=(%2F|/)admin(%2F|/)content(%2F|/)post"))
    expect(page.locator(".messagelist")).to_contain_text("without activity")
    assert AuditLog.objects.get(action="signin.session_expired").details["reason"] == "idle"
