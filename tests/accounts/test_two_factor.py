"""Who owes a second factor, and the two-factor pages' edges: an enrolled user always
verifies, `next` stays on this site, administrators reset a lost device."""

from __future__ import annotations

import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.models import AuditLog
from healthcare_cms.accounts import two_factor
from healthcare_cms.accounts.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def current_code(device: TOTPDevice) -> str:
    secret = two_factor.totp_secret_base32(device)
    totp = TOTP(b32decode(secret + "=" * (-len(secret) % 8)))
    totp.time = time.time()
    return f"{totp.token():06d}"


def enrolled(user) -> list[str]:
    device = two_factor.totp_enrollment_device(user=user)
    codes = two_factor.totp_enrollment_confirm(user=user, device=device, token=current_code(device))
    assert codes is not None
    return codes


def sign_in(client, user):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": PASSWORD, "next": "/admin/"},
    )


@pytest.mark.parametrize(
    ("role", "required"),
    [
        (Role.AUTHOR, False),
        (Role.MEDICAL_REVIEWER, True),
        (Role.DATA_PROTECTION_OFFICER, True),
        (Role.OPERATIONS, True),
        (Role.ADMIN, True),
    ],
)
def test_roles_that_see_patient_data_or_control_jobs_need_a_second_factor(settings, role, required):
    settings.ADMIN_REQUIRE_2FA = True
    assert two_factor.two_factor_required(UserFactory(role=role)) is required
    settings.ADMIN_REQUIRE_2FA = False
    assert two_factor.two_factor_required(UserFactory(role=role)) is False


def test_an_author_without_a_device_uses_the_admin_with_the_password_alone(client, settings):
    settings.ADMIN_REQUIRE_2FA = True
    sign_in(client, UserFactory(role=Role.AUTHOR))
    assert client.get("/admin/").status_code == 200


def test_whoever_enrolled_must_give_a_code_even_when_two_factor_is_optional(client, settings):
    settings.ADMIN_REQUIRE_2FA = False
    user = UserFactory(role=Role.AUTHOR)
    enrolled(user)
    sign_in(client, user)
    response = client.get("/admin/content/post/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/2fa/verify/?next=%2Fadmin%2Fcontent%2Fpost%2F"


def test_the_code_page_sends_nobody_to_another_site(client, settings):
    settings.ADMIN_REQUIRE_2FA = True
    user = UserFactory(role=Role.OPERATIONS)
    codes = enrolled(user)
    sign_in(client, user)
    response = client.post(
        "/admin/2fa/verify/", {"code": codes[0], "next": "https://elsewhere.example/steal"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_an_administrator_resets_a_lost_device_and_the_owner_enrolls_again(client, settings):
    from django.test import Client

    settings.ADMIN_REQUIRE_2FA = True
    owner = UserFactory(role=Role.MEDICAL_REVIEWER)
    codes = enrolled(owner)
    owners_browser = Client()
    sign_in(owners_browser, owner)
    owners_browser.post("/admin/2fa/verify/", {"code": codes[0]})
    assert owners_browser.get("/admin/").status_code == 200

    administrator = UserFactory(role=Role.ADMIN)
    administrator_codes = enrolled(administrator)
    sign_in(client, administrator)
    client.post("/admin/2fa/verify/", {"code": administrator_codes[0]})
    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_two_factor", "_selected_action": [owner.pk]},
    )
    assert response.status_code == 302

    assert not TOTPDevice.objects.filter(user=owner).exists()
    assert not StaticDevice.objects.filter(user=owner).exists()
    assert owners_browser.get("/admin/").status_code == 302, "their session ended"
    reset = AuditLog.objects.get(action="two_factor.reset")
    assert reset.object_id == str(owner.pk) and reset.actor_label == f"user:{administrator.pk}"
    sign_in(owners_browser, owner)
    assert owners_browser.get("/admin/")["Location"].startswith("/admin/2fa/enroll/")
