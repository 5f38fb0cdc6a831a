"""Session limits: idle timeout and absolute lifetime end a session; a password change and a
two-factor reset end the user's other sessions. Staff passwords: at least 12 characters."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from compliance.models import AuditLog
from healthcare_cms.accounts.session_limits import SEEN_AT_KEY, STARTED_AT_KEY
from healthcare_cms.accounts.two_factor import two_factor_reset
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, user, password: str = PASSWORD) -> None:
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": password, "next": "/admin/"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/", response


def age_session(client, key: str, seconds: float) -> None:
    """Move one of the session's clocks back: the state a long wait would leave."""
    session = client.session
    session[key] = time.time() - seconds
    session.save()


def test_a_fresh_session_reaches_the_admin(client):
    sign_in(client, UserFactory(role="operations"))
    assert client.get("/admin/").status_code == 200


def test_the_absolute_lifetime_ends_a_session_however_active(client, settings):
    settings.SESSION_ABSOLUTE_LIFETIME_SECONDS = 3600
    user = UserFactory(role="operations")
    sign_in(client, user)
    age_session(client, STARTED_AT_KEY, 3601)
    age_session(client, SEEN_AT_KEY, 1)  # active a second ago

    response = client.get("/admin/jobs/job/", follow=True)
    assert response.redirect_chain[0] == ("/admin/login/?next=%2Fadmin%2Fjobs%2Fjob%2F", 302)
    assert "Your session reached its 1-hour limit" in response.content.decode()
    assert "_auth_user_id" not in client.session
    expiry = AuditLog.objects.get(action="signin.session_expired")
    assert expiry.object_id == str(user.pk) and expiry.details["reason"] == "lifetime"


def test_an_idle_session_ends_and_an_active_one_does_not(client, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 600
    user = UserFactory(role="dpo")
    sign_in(client, user)
    age_session(client, SEEN_AT_KEY, 590)
    assert client.get("/admin/").status_code == 200, "within the idle timeout"
    assert time.time() - client.session[SEEN_AT_KEY] < 5, "the request counted as activity"

    age_session(client, SEEN_AT_KEY, 601)
    response = client.get("/admin/", follow=True)
    assert "Your session ended after 10 minute(s) without activity" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditLog.objects.get(action="signin.session_expired").details["reason"] == "idle"


def test_a_password_change_ends_the_other_sessions_of_the_user(client, django_user_model):
    from django.test import Client

    user = UserFactory(role="medical_reviewer")
    elsewhere = Client()
    sign_in(elsewhere, user)
    sign_in(client, user)

    response = client.post(
        "/admin/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase-42",
            "new_password2": "another-long-passphrase-42",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get("/admin/").status_code == 200, "the session that changed it stays"
    assert elsewhere.get("/admin/").status_code == 302, "the other session ended"
    assert "_auth_user_id" not in elsewhere.session


def test_a_two_factor_reset_ends_every_session_of_the_user(client):
    user = UserFactory(role="operations")
    sign_in(client, user)
    assert client.get("/admin/").status_code == 200

    two_factor_reset(user=user, actor="system:test")

    assert client.get("/admin/").status_code == 302
    assert "_auth_user_id" not in client.session
    assert AuditLog.objects.filter(action="two_factor.reset", object_id=str(user.pk)).exists()


def test_staff_passwords_need_twelve_characters_and_pass_the_usual_validators():
    user = UserFactory.build(email="reviewer@example.test", full_name="Rita Reviewer")
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Xk3!vQ9#pL2", user)  # 11
    with pytest.raises(ValidationError, match="too common"):
        validate_password("password1234", user)
    with pytest.raises(ValidationError, match="entirely numeric"):
        validate_password("738492017364", user)
    with pytest.raises(ValidationError, match="too similar"):
        validate_password("reviewer@example.test", user)
    validate_password("Xk3!vQ9#pL2m", user)  # 12, unusual


def test_the_admin_refuses_a_short_password_for_a_new_staff_account(client):
    client.force_login(UserFactory(role="admin"))
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new.reviewer@example.test",
            "full_name": "New Reviewer",
            "role": "medical_reviewer",
            "crm": "",
            "password1": "Xk3!vQ9#pL2",
            "password2": "Xk3!vQ9#pL2",
        },
    )
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
