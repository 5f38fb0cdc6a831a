"""The workflow page of the dashboard: the graph as SVG with each step's state and a link to
its job, Cancel and Retry for roles allowed to, the job page's link, `workflow:` search."""

from __future__ import annotations

import pytest

from tests.support.workflow_workers import StepWorker
from workflows.jobs import Job, Workflow, insert_workflow
from workflows.jobs.testing import drain_queue
from workflows.jobs.workflow_graph import GraphStep, depths

pytestmark = [pytest.mark.django_db]


def _workflow():
    wf = (
        Workflow("post <42> validation")
        .add("lgpd", StepWorker.new({"step": "lgpd"}))
        .add("claims", StepWorker.new({"step": "claims", "outcome": "discard"}), deps=["lgpd"])
        .add("cfm", StepWorker.new({"step": "cfm"}), deps=["claims"])
    )
    return insert_workflow(wf)


@pytest.fixture
def operator(client, django_user_model):
    user = django_user_model.objects.create_superuser(email="ops@example.com", password="x")
    client.force_login(user)
    return user


def test_depths_put_each_step_right_of_its_deepest_dep():
    steps = [GraphStep(1, "a", "completed", ()), GraphStep(2, "b", "completed", (1,))]
    steps.append(GraphStep(3, "c", "suspended", (1, 2)))
    assert depths(steps) == {1: 0, 2: 1, 3: 2}


def test_the_workflow_page_draws_the_graph_with_states_and_links(client, operator):
    jobs = _workflow()
    drain_queue("default")
    workflow = jobs["lgpd"].workflow_id
    page = client.get(f"/admin/jobs/jobworkflow/{workflow}/change/").content.decode()
    assert "<svg" in page and 'class="wf-step wf-completed"' in page
    assert 'class="wf-step wf-discarded"' in page and 'class="wf-step wf-cancelled"' in page
    for job in jobs.values():
        assert f'href="/admin/jobs/job/{job.pk}/change/"' in page
    assert "post &lt;42&gt; validation" in page and "<42>" not in page
    assert "Cancelled: dep &#x27;claims&#x27;" in page
    job_page = client.get(f"/admin/jobs/job/{jobs['cfm'].pk}/change/").content.decode()
    assert f'href="/admin/jobs/jobworkflow/{workflow}/change/"' in job_page
    found = client.get("/admin/jobs/job/", {"q": f"workflow:{workflow}"}).content.decode()
    for job in jobs.values():
        assert f"/admin/jobs/job/{job.pk}/change/" in found
    listing = client.get("/admin/jobs/jobworkflow/").content.decode()
    assert "post &lt;42&gt; validation" in listing


def test_cancel_and_retry_buttons(client, operator):
    jobs = _workflow()
    url = f"/admin/jobs/jobworkflow/{jobs['lgpd'].workflow_id}/change/"
    assert client.post(url, {"action": "cancel"}).status_code == 302
    assert set(Job.objects.values_list("state", flat=True)) == {"cancelled"}
    client.post(url, {"action": "retry"})
    states = dict(Job.objects.values_list("step", "state"))
    assert states == {"lgpd": "available", "claims": "suspended", "cfm": "suspended"}


def test_a_viewer_without_the_cancel_and_retry_permissions_gets_no_buttons(
    client, django_user_model
):
    from django.contrib.auth.models import Permission

    jobs = _workflow()
    viewer = django_user_model.objects.create_user(email="viewer@example.com", password="x")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(viewer)
    url = f"/admin/jobs/jobworkflow/{jobs['lgpd'].workflow_id}/change/"
    page = client.get(url)
    assert page.status_code == 200 and b"<svg" in page.content
    assert b"Cancel workflow" not in page.content and b"Retry failed" not in page.content
    assert client.post(url, {"action": "cancel"}).status_code == 403
    assert not Job.objects.filter(state="cancelled").exists()
