"""Job args and meta in the admin (issue 11, defect 6): masked for the operations role, raw for
a role with jobs.view_job_args, and each raw view written to the audit log."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from compliance.job_access import JOB_ARGS_VIEWED
from compliance.models import AuditLog
from healthcare_cms.privacy.identifiers import cpf_generate
from tests.support.workers import RecordingWorker

pytestmark = pytest.mark.browser

PATIENT_NAME = "Zuleika Brandão"


@pytest.fixture
def job_with_patient_data(transactional_db):
    cpf = cpf_generate(formatted=False)
    job = RecordingWorker.enqueue(
        {"post_id": 4242, "patient": {"nome": PATIENT_NAME, "cpf": cpf}, "tags": ["a", "b"]},
        schedule_in=3600,
        meta={"requested_by": "zuleika@example.test"},
    )
    return job, cpf


def _job_page(page, job):
    page.goto(f"/admin/jobs/job/{job.pk}/change/")
    page.wait_for_url(re.compile(rf"/admin/jobs/job/{job.pk}/change/"))
    return page.locator("#content")


def _args_views():
    return AuditLog.objects.filter(action=JOB_ARGS_VIEWED)


def test_the_operations_role_sees_the_keys_of_args_and_meta_with_masked_values(
    page, operator, job_with_patient_data
):
    job, cpf = job_with_patient_data
    assert not operator.has_perm("jobs.view_job_args")
    content = _job_page(page, job)

    args = page.locator("div.field-masked_args pre.jobs-json")
    meta = page.locator("div.field-masked_meta pre.jobs-json")
    expect(args).to_contain_text('"post_id": "***"')
    expect(args).to_contain_text('"nome": "***"')
    expect(args).to_contain_text('"cpf": "***"')
    expect(args).to_contain_text('"tags": [')
    expect(meta).to_contain_text('"requested_by": "***"')
    expect(page.locator("div.field-pretty_args")).to_have_count(0)
    for raw in (cpf, PATIENT_NAME, "Zuleika", "4242", "zuleika@example.test"):
        expect(content).not_to_contain_text(raw)
    assert _args_views().count() == 0


def test_a_role_with_view_job_args_sees_raw_args_and_the_view_is_audited_once(
    page, make_user, login, job_with_patient_data
):
    job, cpf = job_with_patient_data
    dpo = make_user("dpo")
    assert dpo.has_perm("jobs.view_job_args")
    login(dpo)
    _job_page(page, job)

    args = page.locator("div.field-pretty_args pre.jobs-json")
    expect(args).to_contain_text(f'"cpf": "{cpf}"')
    expect(args).to_contain_text(f'"nome": "{PATIENT_NAME}"')
    expect(args).to_contain_text('"post_id": 4242')
    expect(page.locator("div.field-pretty_meta")).to_contain_text("zuleika@example.test")

    views = list(_args_views())
    assert len(views) == 1
    assert views[0].actor_id == dpo.pk
    assert views[0].object_type == "jobs.job"
    assert views[0].object_id == str(job.pk)
    assert views[0].details == {"worker": job.worker, "queue": job.queue}

    page.reload()
    expect(args).to_contain_text(f'"cpf": "{cpf}"')
    assert _args_views().count() == 2  # every view is recorded
