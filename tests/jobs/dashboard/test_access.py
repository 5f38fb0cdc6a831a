"""Who may see and do what on the dashboard, enforced on the server: a button a role does not
get is also refused by URL; args, meta and errors masked without jobs.view_job_args; every
operator action leaves one audit entry."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.job_access import JOB_ARGS_VIEWED
from compliance.models import AuditLog
from healthcare_cms.privacy.identifiers import cpf_generate
from tests.support.workers import FailingWorker, RecordingWorker
from workflows.jobs import insert_all
from workflows.jobs.models import Job, Queue

pytestmark = pytest.mark.django_db

PATIENT = "Zuleika Brandão"


@pytest.fixture
def patient_job():
    cpf = cpf_generate(formatted=False)
    job = FailingWorker.enqueue(
        {"post_id": 4242, "patient": {"nome": PATIENT, "cpf": cpf}},
        schedule_in=3600,
        meta={"requested_by": "zuleika@example.test"},
        tags=["nightly"],
    )
    Job.objects.filter(pk=job.pk).update(
        state="discarded",
        discarded_at=timezone.now(),
        attempt=3,
        errors=[
            {"attempt": n, "at": timezone.now().isoformat(), "error": f"RuntimeError: {cpf} {n}"}
            for n in (1, 2, 3)
        ],
    )
    job.refresh_from_db()
    return job, cpf


def _url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def _text(response) -> str:
    return html.unescape(response.content.decode())


OPERATOR_ACTIONS = [f"job.{a}" for a in ("retry", "cancel", "delete", "pause", "resume", "scale")]


def _actions():
    return AuditLog.objects.filter(action__in=OPERATOR_ACTIONS)


@pytest.mark.parametrize("role", ["author", "medical_reviewer"])
def test_roles_without_view_job_get_no_dashboard_page(client_as, role, patient_job):
    client = client_as(role)
    job, _ = patient_job
    for url in (
        _url("jobs_overview_changelist"),
        _url("jobs_dashboard_jobs"),
        _url("jobs_dashboard_job", job.pk),
        _url("jobs_dashboard_queues"),
        _url("jobs_dashboard_cron"),
        _url("jobs_dashboard_nodes"),
    ):
        assert client.get(url).status_code == 403, url


def test_operations_sees_masked_args_meta_and_errors_and_gets_retry_and_cancel_only(
    client_as, patient_job
):
    client = client_as("operations")
    job, cpf = patient_job
    page = _text(client.get(_url("jobs_dashboard_job", job.pk)))
    assert '"post_id": "***"' in page
    assert '"requested_by": "***"' in page
    for raw in (cpf, PATIENT, "Zuleika", "4242", "zuleika@example.test"):
        assert raw not in page
    assert 'id="jobs-retry"' in page and 'id="jobs-cancel"' in page
    assert 'id="jobs-delete"' not in page
    listing = _text(client.get(_url("jobs_dashboard_jobs")))
    assert f'data-job="{job.pk}"' in listing
    assert cpf not in listing and PATIENT not in listing
    assert not AuditLog.objects.filter(action=JOB_ARGS_VIEWED).exists()


def test_a_forbidden_action_by_url_is_refused_and_changes_nothing(client_as, patient_job):
    job, _ = patient_job
    client = client_as("operations")
    url = _url("jobs_dashboard_job_action", job.pk, "delete")
    assert client.post(url, {"confirmed": "yes"}).status_code == 403
    bulk = client.post(
        _url("jobs_dashboard_bulk"),
        {"action": "delete", "scope": "all", "q": "", "confirmed": "yes"},
    )
    assert bulk.status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()

    dpo = client_as("dpo")  # sees raw args, acts on nothing
    for action in ("retry", "cancel", "delete"):
        response = dpo.post(_url("jobs_dashboard_job_action", job.pk, action), {"confirmed": "yes"})
        assert response.status_code == 403, action
    response = dpo.post(_url("jobs_dashboard_queues"), {"action": "pause", "queue": "default"})
    assert response.status_code == 403
    assert not Queue.objects.get(name="default").paused
    job.refresh_from_db()
    assert job.state == "discarded"
    assert not _actions().exists()


def test_the_dpo_sees_raw_args_each_view_audited_and_may_search_them(client_as, patient_job):
    job, cpf = patient_job
    client = client_as("dpo")
    page = _text(client.get(_url("jobs_dashboard_job", job.pk)))
    assert cpf in page and PATIENT in page
    assert 'id="jobs-retry"' not in page
    assert AuditLog.objects.filter(action=JOB_ARGS_VIEWED, object_id=str(job.pk)).count() == 1
    found = _text(client.get(_url("jobs_dashboard_jobs"), {"q": "args.post_id:4242"}))
    assert f'data-job="{job.pk}"' in found


def test_searching_args_without_view_job_args_is_refused_with_a_message(client_as, patient_job):
    job, cpf = patient_job
    client = client_as("operations")
    page = client.get(_url("jobs_dashboard_jobs"), {"q": f"args.patient.cpf:{cpf}"})
    text = _text(page)
    assert "needs the permission to view job args" in text
    assert f'data-job="{job.pk}"' not in text


def test_a_superuser_gets_every_button(client_as, patient_job):
    job, _ = patient_job
    client = client_as("admin", is_superuser=True)
    page = _text(client.get(_url("jobs_dashboard_job", job.pk)))
    for action in ("retry", "cancel", "delete"):
        assert f'id="jobs-{action}"' in page


def test_a_job_action_asks_first_then_runs_once_and_is_audited(client_as, patient_job):
    job, _ = patient_job
    client = client_as("operations")
    url = _url("jobs_dashboard_job_action", job.pk, "retry")
    confirmation = _text(client.get(url))
    assert "Retry 1 job" in confirmation
    job.refresh_from_db()
    assert job.state == "discarded"  # asking changes nothing

    response = client.post(url, {"confirmed": "yes"}, follow=True)
    assert "1 job(s) put back to available." in _text(response)
    job.refresh_from_db()
    assert job.state == "available"
    [entry] = _actions()
    assert entry.action == "job.retry"
    assert entry.actor == client.user
    assert entry.object_id == str(job.pk)
    assert entry.details == {"count": 1, "filter": "", "ids": [job.pk]}


def _discarded(count: int, **options) -> list[int]:
    jobs = insert_all(RecordingWorker.new({"n": n}, **options) for n in range(count))
    ids = [job.pk for job in jobs]
    Job.objects.filter(pk__in=ids).update(state="discarded", discarded_at=timezone.now())
    return ids


def test_bulk_retry_of_every_job_matching_a_filter_covers_every_page(client_as):
    matching = _discarded(60, queue="default", tags=["batch"])  # more than one page of 50
    other = _discarded(3, queue="default")
    client = client_as("operations")
    fields = {"action": "retry", "scope": "all", "q": "state:discarded tags:batch"}
    confirmation = _text(client.post(_url("jobs_dashboard_bulk"), fields))
    assert "Retry 60 jobs" in confirmation
    assert Job.objects.filter(pk__in=matching, state="discarded").count() == 60

    done = client.post(_url("jobs_dashboard_bulk"), {**fields, "confirmed": "yes"}, follow=True)
    assert "60 job(s) put back to available." in _text(done)
    assert Job.objects.filter(pk__in=matching, state="available").count() == 60
    assert Job.objects.filter(pk__in=other, state="discarded").count() == 3
    [entry] = _actions()
    assert (entry.action, entry.details["count"]) == ("job.retry", 60)
    assert entry.details["filter"] == "state:discarded tags:batch"


def test_a_bulk_action_above_the_limit_is_refused_clearly(client_as, settings):
    settings.JOBS = {**settings.JOBS, "bulk_limit": 5}
    ids = _discarded(6)
    client = client_as("operations")
    response = client.post(
        _url("jobs_dashboard_bulk"),
        {"action": "retry", "scope": "all", "q": "state:discarded", "confirmed": "yes"},
        follow=True,
    )
    assert "More than 5 jobs match: a bulk retry is limited to 5 jobs (JOBS_BULK_LIMIT)" in (
        _text(response)
    )
    assert Job.objects.filter(pk__in=ids, state="discarded").count() == 6
    assert not _actions().exists()


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "A queue limit must be a whole number >= 1 and at most 1,000,000; got 0."),
        ("-5", "A queue limit must be a whole number >= 1 and at most 1,000,000; got -5."),
        ("lots", "A queue limit must be a whole number >= 1 and at most 1,000,000; got 'lots'."),
    ],
)
def test_scaling_a_queue_validates_like_the_cli(client_as, limit, message):
    client = client_as("operations")
    response = client.post(
        _url("jobs_dashboard_queues"),
        {"action": "scale", "queue": "default", "limit": limit},
        follow=True,
    )
    assert message in _text(response)
    assert not _actions().exists()


def test_pause_resume_and_scale_each_leave_one_audit_entry(client_as):
    client = client_as("operations")
    for fields, message in (
        ({"action": "pause"}, "Paused default"),
        ({"action": "resume"}, "Resumed default"),
        ({"action": "scale", "limit": "7"}, "Scaled default to 7"),
    ):
        response = client.post(
            _url("jobs_dashboard_queues"), {"queue": "default", **fields}, follow=True
        )
        assert message in _text(response)
    assert Queue.objects.get(name="default").limit == 7
    assert list(_actions().order_by("id").values_list("action", "details__filter")) == [
        ("job.pause", "queue:default"),
        ("job.resume", "queue:default"),
        ("job.scale", "queue:default limit:7"),
    ]


def test_the_state_links_keep_the_other_terms_and_replace_the_state(client_as):
    _discarded(2, tags=["batch"])
    client = client_as("operations")
    page = _text(client.get(_url("jobs_dashboard_jobs"), {"q": "tags:batch state:discarded"}))
    assert 'href="/admin/jobs/overview/jobs/?q=tags%3Abatch+state%3Acompleted"' in page
    discarded = page[page.index('data-state="discarded"') :]
    assert discarded[: discarded.index("</a>")].endswith('<span class="jobs-count">2</span>')


def test_a_recorded_result_is_masked_like_args_and_the_workflow_is_linked(client_as, patient_job):
    job, cpf = patient_job
    Job.objects.filter(pk=job.pk).update(
        state="completed", completed_at=timezone.now(), result={"cpf": cpf, "nome": PATIENT}
    )
    masked = _text(client_as("operations").get(_url("jobs_dashboard_job", job.pk)))
    assert 'id="jobs-result"' in masked and '"cpf": "***"' in masked
    assert cpf not in masked and PATIENT not in masked
    raw = _text(client_as("dpo").get(_url("jobs_dashboard_job", job.pk)))
    assert cpf in raw and PATIENT in raw
    assert 'id="jobs-workflow"' not in raw


def test_a_workflow_step_links_its_workflow(client_as):
    from tests.support.workflow_workers import StepWorker
    from workflows.jobs import Workflow, insert_workflow

    steps = insert_workflow(
        Workflow("pair")
        .add("a", StepWorker.new({"step": "a"}))
        .add("b", StepWorker.new({"step": "b"}), deps=["a"])
    )
    page = _text(client_as("operations").get(_url("jobs_dashboard_job", steps["b"].pk)))
    workflow = reverse("admin:jobs_jobworkflow_change", args=[steps["b"].workflow_id])
    assert f'href="{workflow}"' in page and "step b" in page
