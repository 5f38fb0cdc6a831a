"""E-mail through a real local SMTP server: sent once, retried on failure, bad types discarded."""

import pytest

from compliance.alerts import alert_raise, alert_resolve
from compliance.models import AlertKind, EmailDelivery
from compliance.workers import EmailWorker
from healthcare_cms.accounts.services import password_reset_request
from tests.factories import UserFactory
from workflows.jobs import Job, retry_job
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db


def _alert(**overrides):
    options = {
        "kind": AlertKind.INTEGRATION,
        "code": "regulator_api_down",
        "summary": "regulator API is down",
        "details": {"url_host": "example.test"},
    }
    return alert_raise(**{**options, **overrides})


def test_an_alert_e_mail_reaches_the_configured_recipients_once(smtp_server, settings):
    settings.ALERT_RECIPIENTS = {**settings.ALERT_RECIPIENTS, "integration": ["ops@example.test"]}
    alert = _alert()
    assert drain_queue("email")["success"] == 1
    (message,) = smtp_server.messages
    assert message["To"] == "ops@example.test"
    assert "regulator API is down" in message["Subject"]
    assert message["Message-ID"] == f"<alert-{alert.pk}-raised@localhost>"


def test_a_retry_after_a_successful_send_does_not_send_twice(smtp_server):
    _alert()
    drain_queue("email")
    job = Job.objects.get(worker__endswith="EmailWorker")
    assert job.state == "completed"
    retry_job(job.pk)
    assert drain_queue("email")["success"] == 1
    assert len(smtp_server.messages) == 1
    assert EmailDelivery.objects.count() == 1


def test_an_smtp_failure_retries_with_backoff_and_then_sends(smtp_server):
    smtp_server.refuse_with = "451 4.3.0 try again later"
    _alert()
    assert drain_queue("email")["failure"] == 1
    job = Job.objects.get(worker__endswith="EmailWorker")
    assert job.state == "retryable" and "SMTP" in job.errors[0]["error"]
    assert (job.scheduled_at - job.attempted_at).total_seconds() >= 17, "default backoff"
    smtp_server.refuse_with = None
    assert drain_queue("email", with_scheduled=True)["success"] == 1
    assert len(smtp_server.messages) == 1


def test_an_unreachable_smtp_server_retries(settings):
    from tests.support.smtp import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    _alert()
    assert drain_queue("email")["failure"] == 1


def test_an_unknown_email_type_is_discarded_with_a_reason(smtp_server):
    EmailWorker.enqueue({"email_type": "marketing_blast"})
    assert drain_queue("email")["discard"] == 1
    job = Job.objects.get()
    assert (
        job.state == "discarded"
        and "unknown email type 'marketing_blast'" in job.errors[0]["error"]
    )
    assert not smtp_server.messages


def test_the_end_of_a_problem_sends_a_recovery_notice(smtp_server):
    _alert()
    alert_resolve(code="regulator_api_down")
    assert drain_queue("email")["success"] == 2
    subjects = sorted(message["Subject"] for message in smtp_server.messages)
    assert any("RECOVERED" in subject for subject in subjects)


def test_a_password_reset_e_mail_carries_a_working_link(smtp_server, client):
    user = UserFactory(email="ana@example.test")
    assert password_reset_request(email="ANA@example.test") is True
    assert password_reset_request(email="nobody@example.test") is False
    drain_queue("email")
    (message,) = smtp_server.messages
    assert message["To"] == "ana@example.test"
    link = next(line for line in message.get_payload().splitlines() if "/accounts/reset/" in line)
    path = link.strip().split("localhost:8000", 1)[1]
    page = client.get(path, follow=True)
    assert page.status_code == 200 and b"new_password1" in page.content
    form_url = page.redirect_chain[-1][0]
    done = client.post(
        form_url,
        {"new_password1": "another-long-password-1", "new_password2": "another-long-password-1"},
        follow=True,
    )
    assert done.status_code == 200
    user.refresh_from_db()
    assert user.check_password("another-long-password-1")


def test_the_password_reset_form_queues_the_e_mail(client):
    UserFactory(email="bia@example.test")
    response = client.post("/admin/password_reset/", {"email": "bia@example.test"})
    assert response.status_code == 302
    assert Job.objects.filter(
        worker__endswith="EmailWorker", args__email_type="password_reset"
    ).exists()
