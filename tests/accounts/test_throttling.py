"""Sign-in throttling through the real admin login view: lockout per account and per client
address, the right password refused while locked, the cooldown, unlocks, and the audit trail."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.core.management import CommandError, call_command

from compliance.models import AuditLog
from healthcare_cms.privacy.identifiers import cpf_generate
from tests.factories import UserFactory
from tests.support.polling import wait_until

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
LIMIT = 5
COOLOFF_SECONDS = 3  # the test that waits for the cooldown
LONG_COOLOFF_SECONDS = 600  # the others: no attempt may age out while they run
ADDRESS = "198.51.100.23"


@pytest.fixture(autouse=True)
def lockout_settings(settings):
    settings.LOGIN_FAILURE_LIMIT = LIMIT
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = LONG_COOLOFF_SECONDS
    # A fast hasher: throttling is about counting attempts, and the cooldown test's attempts
    # must all fall well inside its short window.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, email: str, password: str, address: str = ADDRESS):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def actions_for(user) -> list[str]:
    return list(
        AuditLog.objects.filter(object_type="accounts.user", object_id=str(user.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_forty_wrong_passwords_lock_the_account_the_right_one_waits_for_the_cooldown(
    client, settings
):
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = COOLOFF_SECONDS
    user = UserFactory(role="admin")

    statuses = []
    for n in range(40):
        statuses.append(sign_in(client, user.email, f"wrong-password-{n}").status_code)
        if n == LIMIT - 1:
            # Attempts refused while locked do not extend the lockout: it runs from here.
            locked_at = time.monotonic()
    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1), "ordinary failures show the form again"
    assert statuses[LIMIT - 1 :] == [429] * (40 - LIMIT + 1), "locked from the limit on"

    refused = sign_in(client, user.email, PASSWORD)
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Sign-in is locked" in page and "even with the right password" in page
    assert not signed_in(client)

    accepted = wait_until(
        lambda: (response := sign_in(client, user.email, PASSWORD)).status_code == 302 and response,
        timeout=COOLOFF_SECONDS + 15,
        interval=0.25,
        message="the right password to be accepted after the cooldown",
    )
    assert time.monotonic() - locked_at >= COOLOFF_SECONDS
    assert accepted["Location"] == "/admin/"
    assert signed_in(client)

    actions = actions_for(user)
    assert actions[:LIMIT] == ["signin.failed"] * LIMIT
    assert actions[LIMIT] == "signin.locked_out"
    refusals = actions[LIMIT + 1 : -1]
    assert len(refusals) >= 40 - LIMIT + 1, "the 35 wrong passwords and the right one"
    assert set(refusals) == {"signin.refused_locked"}
    assert actions[-1] == "signin.succeeded"
    failures = AuditLog.objects.filter(action="signin.failed", object_id=str(user.pk))
    assert [entry.details["failures"] for entry in failures.order_by("id")] == [1, 2, 3, 4, 5]
    assert not AccessAttempt.objects.exists(), "a success clears the account's failures"


def test_failures_from_one_address_lock_that_address_for_every_account(client):
    target = UserFactory(role="operations")
    for n in range(LIMIT):
        sign_in(client, f"nobody{n}@example.test", "wrong-password-x")

    assert sign_in(client, target.email, PASSWORD).status_code == 429
    assert not signed_in(client)
    assert sign_in(client, target.email, PASSWORD, address="203.0.113.9").status_code == 302


def test_failures_from_many_addresses_lock_the_account_everywhere_whatever_the_case(client):
    target = UserFactory(role="dpo")
    for n in range(LIMIT):
        typed = target.email.upper() if n % 2 else target.email
        sign_in(client, typed, "wrong-password-x", address=f"192.0.2.{n + 1}")

    assert sign_in(client, target.email, PASSWORD, address="203.0.113.50").status_code == 429
    assert not signed_in(client)


def test_the_audit_log_keeps_neither_the_address_nor_what_was_typed_as_the_username(client):
    typed = cpf_generate()  # a patient's identifier typed into the username field
    sign_in(client, typed, "wrong-password-x", address="198.51.100.77")
    sign_in(client, typed, "wrong-password-x", address="198.51.100.77")

    entries = list(AuditLog.objects.filter(action="signin.failed").order_by("id"))
    assert len(entries) == 2
    stored = " ".join(f"{e.actor_label} {e.object_id} {e.details}" for e in entries)
    assert "198.51.100.77" not in stored and typed not in stored
    first, second = (entry.details for entry in entries)
    assert first["client_network"] == "198.51.100.0/24"
    assert first["client_key"] == second["client_key"], "repeats from one address match"
    assert first["unknown_account_key"] == second["unknown_account_key"]
    assert entries[0].actor_label == "anonymous"


def test_the_throttle_keeps_no_typed_password():
    from django.test import Client

    sign_in(Client(), "someone@example.test", "Tr0ub4dor&3-almost-right")
    stored = AccessAttempt.objects.get()
    assert "Tr0ub4dor" not in f"{stored.post_data} {stored.get_data}"


def test_the_unlock_command_lifts_an_account_lockout_at_once_and_is_audited(client):
    user = UserFactory(role="medical_reviewer")
    for _ in range(LIMIT):
        sign_in(client, user.email, "wrong-password-x")
    assert sign_in(client, user.email, PASSWORD).status_code == 429

    call_command("access_unlock", email=user.email.upper())
    call_command("access_unlock", address=ADDRESS)

    assert sign_in(client, user.email, PASSWORD).status_code == 302
    unlocks = AuditLog.objects.filter(action="signin.unlocked").order_by("id")
    assert [entry.actor_label for entry in unlocks] == ["system:access_unlock"] * 2
    assert unlocks[0].object_id == str(user.pk)
    assert unlocks[1].details["client_network"] == "198.51.100.0/24"
    assert ADDRESS not in str(unlocks[1].details)


def test_the_unlock_command_says_what_it_needs():
    with pytest.raises(CommandError, match="--email ADDRESS, --address IP or --all"):
        call_command("access_unlock")
    with pytest.raises(CommandError, match="'not-an-ip' is not an IP address"):
        call_command("access_unlock", address="not-an-ip")


def test_administrators_see_lockouts_and_lift_them_from_the_admin(client):
    user = UserFactory(role="operations")
    for _ in range(LIMIT):
        sign_in(client, user.email, "wrong-password-x")
    admin_user = UserFactory(role="admin")
    client.force_login(admin_user)

    listing = client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert user.email in listing.content.decode()
    attempt = AccessAttempt.objects.get(username=user.email)
    response = client.post(
        "/admin/axes/accessattempt/",
        {"action": "lift", "_selected_action": [attempt.pk]},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    unlock = AuditLog.objects.get(action="signin.unlocked")
    assert unlock.actor_label == f"user:{admin_user.pk}" and unlock.object_id == str(user.pk)
    client.logout()
    assert sign_in(client, user.email, PASSWORD).status_code == 302
