"""Patient data in exception messages never reaches a stored job error, the dead-letter list,
an alert or the operations e-mail (issue 11, defect 5): the engine masks at storage through
JOBS['error_scrubber'], alert_raise masks what it stores, and the pages and the e-mail mask
again what was stored before."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.emails import build_email
from compliance.health import check_job_engine
from compliance.models import Alert
from healthcare_cms.privacy.identifiers import cns_generate, cpf_generate
from tests.factories import UserFactory
from workflows.jobs import Discard, Worker
from workflows.jobs.models import Job
from workflows.jobs.testing import drain_queue

CPF = cpf_generate(formatted=False)
CNS = cns_generate()
SECRETS = [
    CPF,
    CNS,
    "Zuleika",
    "Brandão",
    "MARIA",
    "zuleika@example.test",
    "1980-02-01",
    "98765-4321",
]


def _leaky_message() -> str:
    spaced = f"{CPF[:3]} {CPF[3:6]} {CPF[6:9]} {CPF[9:]}"
    return (
        f"Paciente: Zuleika Brandão not exported; "
        f"row={{'nome': 'MARIA DA SILVA', 'cpf': {int(CPF)}}}; "
        f"json={json.dumps({'email': 'zuleika@example.test', 'nascimento': '1980-02-01'})}; "
        f"cpf {spaced}, cns {CNS[:3]}-{CNS[3:7]}-{CNS[7:11]}-{CNS[11:]}, tel 98765-4321"
    )


class LeakyWorker(Worker):
    max_attempts = 2

    def perform(self, job):
        raise ValueError(_leaky_message())

    def backoff(self, job):
        return 0


class LeakyDiscardWorker(Worker):
    max_attempts = 1

    def perform(self, job):
        return Discard(_leaky_message())


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, (secret, text)


@pytest.mark.django_db(transaction=True)
def test_errors_are_masked_when_the_engine_stores_them():
    raised = LeakyWorker.enqueue({})
    discarded = LeakyDiscardWorker.enqueue({})
    drain_queue("default", with_scheduled=True)
    for job in (raised, discarded):
        job.refresh_from_db()
        assert job.state == "discarded"
        stored = json.dumps(job.errors, ensure_ascii=False)
        _assert_clean(stored)
        assert "[CPF]" in stored and "[NAME]" in stored
    assert "ValueError: Paciente: [NAME] not exported" in raised.last_error_line
    assert len(raised.errors) == 2


@pytest.mark.django_db(transaction=True)
def test_the_discarded_job_alert_and_its_email_hold_no_patient_data(settings):
    settings.ALERT_RECIPIENTS = {**settings.ALERT_RECIPIENTS, "operations": ["ops@example.test"]}
    job = LeakyWorker.enqueue({})
    drain_queue("default", with_scheduled=True)
    check_job_engine(since=timezone.now() - timedelta(hours=1))
    alert = Alert.objects.get(code="job_discarded", incident_key=job.worker)
    _assert_clean(alert.summary + json.dumps(alert.details, ensure_ascii=False))
    message = build_email("infrastructure_alert", {"alert_id": alert.pk, "message_key": "k"})
    _assert_clean(message.subject + message.body)


@pytest.mark.django_db
def test_alert_raise_masks_what_a_caller_puts_in_summary_and_details():
    from compliance.alerts import alert_raise

    alert = alert_raise(
        kind="operations",
        code="export_failed",
        summary=f"export failed: {_leaky_message()}",
        details={"detail": _leaky_message(), "patient_cpf": int(CPF), "job_id": 7},
    )
    alert.refresh_from_db()
    _assert_clean(alert.summary + json.dumps(alert.details, ensure_ascii=False))
    assert alert.details["job_id"] == 7


@pytest.mark.django_db
def test_alerts_and_job_errors_stored_before_the_fix_are_masked_on_the_pages_and_in_email(
    client, settings
):
    """Rows written raw (before the mask knew these forms): the alert page, the dead-letter
    list, the job page and the e-mail mask them when shown."""
    settings.ALERT_RECIPIENTS = {**settings.ALERT_RECIPIENTS, "operations": ["ops@example.test"]}
    legacy = Alert.objects.create(
        kind="operations",
        code="legacy",
        summary=f"failed for {_leaky_message()}"[:300],
        details={"last_error": _leaky_message()},
    )
    job = Job.objects.create(
        worker=f"{LeakyWorker.__module__}.LeakyWorker",
        state="discarded",
        attempt=1,
        max_attempts=1,
        discarded_at=timezone.now(),
        errors=[{"attempt": 1, "at": "2026-01-01T00:00:00Z", "error": _leaky_message()}],
    )
    message = build_email("infrastructure_alert", {"alert_id": legacy.pk, "message_key": "k"})
    _assert_clean(message.subject + message.body)

    operator = UserFactory(role="operations")
    client.force_login(operator)
    for url in (
        f"/admin/compliance/alert/{legacy.pk}/change/",
        "/admin/compliance/alert/",
        "/admin/jobs/deadletter/",
        f"/admin/jobs/job/{job.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_clean(response.content.decode())
