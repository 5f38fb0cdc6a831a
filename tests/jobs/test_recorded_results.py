"""Recorded results (Worker.record): what perform returns is stored on the job as JSON,
refused clearly when it is not JSON or too large, and masked in the admin like args."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from healthcare_cms.privacy.identifiers import cpf_generate
from tests.factories import UserFactory
from workflows.jobs import Job, Worker
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db

PATIENT_NAME = "Zuleika Brandão"


class RecordingResultWorker(Worker):
    record = True
    max_attempts = 1

    def perform(self, job):
        return job.args["value"]


class SetReturningWorker(Worker):
    record = True
    max_attempts = 2

    def perform(self, job):
        return {"ids": {1, 2}}


class UnrecordedWorker(Worker):
    def perform(self, job):
        return {"not": "stored"}


class NonTransactionalRecordingWorker(Worker):
    record = True
    transactional = False

    def perform(self, job):
        return [1, "two", None]


@pytest.mark.parametrize(
    "value", [{"summary": {"count": 3}}, [1, 2.5, "três"], "text", 7, True, None]
)
def test_a_recording_worker_stores_its_json_return_value_as_the_result(value):
    job = RecordingResultWorker.enqueue({"value": value})
    assert drain_queue("default")["success"] == 1
    job = Job.objects.get(pk=job.pk)
    assert job.state == "completed"
    assert job.result == value


def test_a_non_transactional_recording_worker_stores_its_result_too():
    job = NonTransactionalRecordingWorker.enqueue({})
    drain_queue("default")
    assert Job.objects.get(pk=job.pk).result == [1, "two", None]


def test_a_worker_without_record_stores_no_result():
    job = UnrecordedWorker.enqueue({})
    drain_queue("default")
    job = Job.objects.get(pk=job.pk)
    assert job.state == "completed" and job.result is None


def test_a_return_value_json_cannot_hold_fails_the_attempt_naming_the_problem():
    job = SetReturningWorker.enqueue({})
    assert drain_queue("default")["failure"] == 1
    job = Job.objects.get(pk=job.pk)
    assert job.state == "retryable" and job.result is None
    error = job.last_error
    assert "cannot be recorded as its result" in error
    assert "is a set, which does not survive a JSON round trip" in error


@override_settings(JOBS={"max_args_bytes": 100})
def test_a_return_value_over_the_size_limit_is_refused_like_args():
    job = RecordingResultWorker.enqueue({"value": "x"})
    job.args = {"value": "y" * 200}  # the args limit is checked at insert: bypass it here
    Job.objects.filter(pk=job.pk).update(args=job.args)
    drain_queue("default")
    job = Job.objects.get(pk=job.pk)
    assert job.state == "discarded" and job.result is None
    assert "more than the 100 allowed" in job.last_error


def test_the_result_is_never_logged(caplog):
    cpf = cpf_generate(formatted=False)
    caplog.set_level(logging.DEBUG)
    RecordingResultWorker.enqueue({"value": {"cpf": cpf, "name": PATIENT_NAME}})
    drain_queue("default")
    assert cpf not in caplog.text and PATIENT_NAME not in caplog.text


def test_the_admin_masks_the_result_without_the_args_permission_and_shows_it_with(client):
    cpf = cpf_generate(formatted=False)
    job = RecordingResultWorker.enqueue({"value": {"patient": {"cpf": cpf, "nome": PATIENT_NAME}}})
    drain_queue("default")
    url = f"/admin/jobs/job/{job.pk}/change/"

    operator = UserFactory(role="operations")
    assert not operator.has_perm("jobs.view_job_args")
    client.force_login(operator)
    page = client.get(url).content.decode()
    assert "field-masked_result" in page and "field-pretty_result" not in page
    assert "&quot;cpf&quot;: &quot;***&quot;" in page
    assert cpf not in page and "Zuleika" not in page

    dpo = UserFactory(role="dpo")
    assert dpo.has_perm("jobs.view_job_args")
    client.force_login(dpo)
    page = client.get(url).content.decode()
    assert "field-pretty_result" in page
    assert cpf in page and "Zuleika" in page
