"""SIGTERM, to the main process or to its whole group (systemd): running jobs finish within the
grace period, claimed-but-unstarted jobs go back to available, and the node exits."""

import time

import pytest

from tests.support.polling import wait_until
from tests.support.workers import RecordingWorker
from workflows.jobs import Job, insert_all
from workflows.jobs.models import Node

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize("group", [False, True], ids=["main-process", "process-group"])
def test_sigterm_lets_running_jobs_finish_and_returns_unstarted_ones(clusters, executions, group):
    node = clusters.start(concurrency=1, env={"JOBS_PREFETCH": "3"}).wait_ready()
    jobs = insert_all([RecordingWorker.new({"sleep": 2, "n": i}) for i in range(6)])
    wait_until(lambda: executions("start"), timeout=30, message="the first job to start")
    wait_until(
        lambda: Job.objects.filter(state="executing").count() == 4,
        timeout=10,
        message="one running and three claimed in the prefetch buffer",
    )
    sent = time.monotonic()
    node.terminate(group=group)
    assert node.wait(timeout=20) == 0
    assert time.monotonic() - sent < 10, "well within the 10 s grace period"
    started = [row["job_id"] for row in executions("start")]
    assert started and [row["job_id"] for row in executions("done")] == started, (
        "every job that started finished"
    )
    states = {job.pk: Job.objects.get(pk=job.pk) for job in jobs}
    for job_id, job in states.items():
        if job_id in started:
            assert job.state == "completed"
        else:
            assert job.state == "available" and job.attempt == 0, "returned, attempt not counted"
    assert not Node.objects.exists(), "the node removed itself"


def test_a_job_still_running_after_the_grace_period_is_interrupted_and_requeued(
    clusters, executions
):
    node = clusters.start(concurrency=1, env={"JOBS_SHUTDOWN_GRACE_SECONDS": "2"}).wait_ready()
    job = RecordingWorker.enqueue({"sleep": 60})
    wait_until(lambda: executions("start"), timeout=30)
    sent = time.monotonic()
    node.terminate(group=True)
    assert node.wait(timeout=30) == 0
    assert time.monotonic() - sent < 8, "it never hangs: the grace period bounds the exit"
    job.refresh_from_db()
    assert job.state == "available" and job.attempt == 1
    assert "did not finish within the 2 s grace period" in job.errors[-1]["error"]
    assert not executions("done")
