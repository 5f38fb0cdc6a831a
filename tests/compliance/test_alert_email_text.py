"""The alert e-mail as operators read it: its summary and details name the same job, and its
first sentence takes the right article."""

import pytest

from compliance.emails import with_article
from compliance.health import check_job_engine
from compliance.models import Alert
from tests.support.telemetry_workers import PatientFailureWorker
from workflows.jobs import Job
from workflows.jobs.api.queues import sync_queues
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db


def test_two_discarded_jobs_give_an_e_mail_whose_summary_and_details_name_the_same_job(
    smtp_server, settings
):
    from datetime import timedelta

    from django.utils import timezone

    settings.ALERT_RECIPIENTS = {**settings.ALERT_RECIPIENTS, "operations": ["ops@example.test"]}
    sync_queues()
    jobs = [PatientFailureWorker.enqueue({"n": n}) for n in (1, 2)]
    drain_queue("default", with_scheduled=True)
    check_job_engine(since=timezone.now() - timedelta(minutes=10))
    # The health check raises the alert for each discarded job in discard order: the first
    # opens it, the second counts an occurrence. Both must then describe the latest one.
    ordered = list(Job.objects.filter(pk__in=[j.pk for j in jobs]).order_by("discarded_at"))
    earlier, latest = ordered
    alert = Alert.objects.get(code="job_discarded")
    assert alert.occurrences == 2
    assert f"job {latest.pk} was discarded" in alert.summary
    assert alert.details["job_id"] == latest.pk
    assert drain_queue("email")["success"] == 1
    (message,) = smtp_server.messages
    body = message.get_payload(decode=True).decode()
    assert body.startswith("An operations problem needs attention.")
    assert f"job {latest.pk} was discarded" in body and f'"job_id": {latest.pk}' in body
    assert f"job {earlier.pk} " not in body and f'"job_id": {earlier.pk}' not in body


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("operations problem", "an operations problem"),
        ("infrastructure problem", "an infrastructure problem"),
        ("integration problem", "an integration problem"),
        ("security problem", "a security problem"),
        ("compliance problem", "a compliance problem"),
        ("legal problem", "a legal problem"),
    ],
)
def test_the_article_of_each_alert_kind(phrase, expected):
    assert with_article(phrase) == expected
