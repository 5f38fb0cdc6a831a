"""The cron page after a cron job ran in a real cluster: the last slot's job and its state."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from tests.support.polling import wait_until
from workflows.jobs.models import Job

WORKER = "tests.support.workers.RecordingWorker"
CRONTAB = [["* * * * *", WORKER]]


@pytest.mark.cluster
def test_the_cron_page_shows_the_last_slot_s_job_after_a_cluster_ran_it(
    clusters, executions, client, settings
):
    from tests.factories import UserFactory

    settings.JOBS = {**settings.JOBS, "crontab": [tuple(entry) for entry in CRONTAB]}
    node = clusters.start(concurrency=1, env={"JOBS_CRONTAB_OVERRIDE": json.dumps(CRONTAB)})
    node.wait_ready()
    due = (timezone.now() - timedelta(minutes=1)).replace(second=0, microsecond=0)
    Schedule.objects.update(next_run=due)  # django-q2's scheduler fires it within 30 s

    def slot_job() -> Job | None:
        return Job.objects.filter(worker=WORKER, meta__cron_slot=due.isoformat()).first()

    wait_until(
        lambda: (job := slot_job()) is not None and job.state == "completed",
        timeout=90,
        message="the cron slot's job to be inserted and completed by the cluster",
    )
    job = slot_job()
    client.force_login(UserFactory(role="operations"))
    page = html.unescape(client.get(reverse("admin:jobs_dashboard_cron")).content.decode())
    row = page[page.index(f'data-worker="{WORKER}"') :]
    row = row[: row.index("</tr>")]
    assert "* * * * *" in row
    assert f">#{job.pk}</a> {due.isoformat()}" in row
    assert "completed" in row
