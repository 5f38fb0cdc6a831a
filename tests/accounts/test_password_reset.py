"""The anonymous password-reset form: one e-mail per account per period, a limit per client,
and a response that never says whether the account exists."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from compliance.alerts import alert_raise
from compliance.models import AlertKind
from healthcare_cms.accounts.models import PasswordResetThrottle
from healthcare_cms.accounts.services import password_reset_request
from healthcare_cms.accounts.throttle import client_key, password_reset_allowed
from tests.factories import UserFactory
from workflows.jobs import Job
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db
URL = "/admin/password_reset/"


@pytest.fixture(autouse=True)
def fast_password_hashes(settings):
    """Fifty test users need not cost fifty production-strength hashes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _reset_jobs():
    return Job.objects.filter(worker__endswith="EmailWorker", args__email_type="password_reset")


def _post(client, email, address="203.0.113.7", **extra):
    return client.post(URL, {"email": email}, REMOTE_ADDR=address, **extra)


def test_fifty_requests_for_one_account_from_fifty_clients_queue_one_e_mail(client):
    UserFactory(email="ana@example.test")
    for n in range(50):
        assert _post(client, "ana@example.test", address=f"198.51.100.{n + 1}").status_code == 302
    assert _reset_jobs().count() == 1


def test_fifty_requests_for_one_account_from_one_client_queue_one_e_mail(client):
    UserFactory(email="ana@example.test")
    for _ in range(50):
        _post(client, "ANA@example.test")
    assert _reset_jobs().count() == 1


def _two_minutes_pass() -> None:
    """Move every unique job's insert time and unique window two minutes into the past."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE jobs_job SET inserted_at = inserted_at - interval '2 minutes', "
            "uniq_window = tstzrange(lower(uniq_window) - interval '2 minutes', "
            "upper(uniq_window) - interval '2 minutes') WHERE uniq_key IS NOT NULL"
        )


@pytest.mark.parametrize(("period", "again_after_two_minutes"), [(900, False), (60, True)])
def test_the_period_is_a_setting(settings, period, again_after_two_minutes):
    settings.PASSWORD_RESET_CLIENT_LIMIT = 100
    settings.PASSWORD_RESET_EMAIL_PERIOD_SECONDS = period
    UserFactory(email="ana@example.test")
    assert password_reset_request(email="ana@example.test", client_address="192.0.2.1")
    assert not password_reset_request(email="ana@example.test", client_address="192.0.2.2")
    _two_minutes_pass()
    queued = password_reset_request(email="ana@example.test", client_address="192.0.2.3")
    assert queued is again_after_two_minutes
    assert _reset_jobs().count() == (2 if again_after_two_minutes else 1)


def test_fifty_accounts_from_one_client_queue_at_most_the_client_limit(client, settings):
    settings.PASSWORD_RESET_CLIENT_LIMIT = 5
    for n in range(50):
        UserFactory(email=f"user{n}@example.test")
    for n in range(50):
        assert _post(client, f"user{n}@example.test").status_code == 302
    assert _reset_jobs().count() == 5
    # Another client is not held back by the first one's limit.
    _post(client, "user49@example.test", address="203.0.113.8")
    assert _reset_jobs().count() == 6


def test_the_response_never_reveals_whether_the_account_exists(client, settings):
    settings.PASSWORD_RESET_CLIENT_LIMIT = 2
    UserFactory(email="ana@example.test")
    existing = _post(client, "ana@example.test", address="192.0.2.10")
    missing = _post(client, "nobody@example.test", address="192.0.2.11")
    for _ in range(3):
        throttled = _post(client, "ana@example.test", address="192.0.2.12")
    responses = [existing, missing, throttled]
    assert {(r.status_code, r["Location"]) for r in responses} == {(302, "/accounts/reset/sent/")}
    pages = [client.get(r["Location"]) for r in responses]
    assert len({(p.status_code, p.content) for p in pages}) == 1
    assert b"ana@example.test" not in pages[0].content


def test_the_limit_holds_across_concurrent_connections(transactional_db, settings):
    """Eight threads, each with its own database connection, 40 requests in all: exactly the
    limit gets through (the count is one atomic upsert, not read-then-write)."""
    settings.PASSWORD_RESET_CLIENT_LIMIT = 5
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def hit():
        from django.db import connections

        try:
            start.wait()
            for _ in range(5):
                outcome = password_reset_allowed(address="198.51.100.99")
                with lock:
                    allowed.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(allowed) == 40 and allowed.count(True) == 5
    (row,) = PasswordResetThrottle.objects.all()
    assert row.count == 40


def test_a_client_s_window_ends_and_its_row_is_pruned(settings):
    settings.PASSWORD_RESET_CLIENT_LIMIT = 1
    settings.PASSWORD_RESET_CLIENT_WINDOW_SECONDS = 60
    assert password_reset_allowed(address="192.0.2.20")
    assert not password_reset_allowed(address="192.0.2.20")
    PasswordResetThrottle.objects.update(window_start=timezone.now() - timedelta(minutes=2))
    assert password_reset_allowed(address="192.0.2.20")  # a new window
    PasswordResetThrottle.objects.update(window_start=timezone.now() - timedelta(minutes=2))
    assert password_reset_allowed(address="192.0.2.21")  # prunes the other client's old row
    assert list(PasswordResetThrottle.objects.values_list("client_key", flat=True)) == [
        client_key("192.0.2.21", scope="password_reset")
    ]


def test_clients_are_stored_as_keyed_hashes_and_ipv6_counts_per_64():
    password_reset_allowed(address="2001:db8:1:2::1")
    password_reset_allowed(address="2001:db8:1:2:ffff::9")
    (row,) = PasswordResetThrottle.objects.all()
    assert row.count == 2 and "2001" not in row.client_key and len(row.client_key) == 64
    assert client_key("::ffff:192.0.2.1", scope="s") == client_key("192.0.2.1", scope="s")
    assert client_key("not an address", scope="s") == client_key("", scope="s")


def test_behind_a_trusted_proxy_the_forwarded_client_counts(client, settings):
    settings.PASSWORD_RESET_CLIENT_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(3):
        UserFactory(email=f"p{n}@example.test")
        # Every request arrives from the proxy; a client-forged first entry is ignored.
        _post(
            client,
            f"p{n}@example.test",
            address="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 198.51.100.{n + 1}",
        )
    assert _reset_jobs().count() == 3


def test_alerts_are_sent_before_waiting_reset_e_mails(smtp_server, settings):
    settings.PASSWORD_RESET_CLIENT_LIMIT = 100
    settings.ALERT_RECIPIENTS = {**settings.ALERT_RECIPIENTS, "security": ["dpo@example.test"]}
    for n in range(3):
        UserFactory(email=f"r{n}@example.test")
        password_reset_request(email=f"r{n}@example.test", client_address="192.0.2.30")
    alert_raise(kind=AlertKind.SECURITY, code="unlogged_read", summary="read without audit")
    assert drain_queue("email")["success"] == 4
    assert smtp_server.messages[0]["To"] == "dpo@example.test"
