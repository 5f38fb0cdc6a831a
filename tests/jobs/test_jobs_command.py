"""`manage.py jobs`: output and exit codes fit scripts; bad arguments get a clear error."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import NodeFactory
from tests.support.commands import manage_py
from tests.support.workers import FailingWorker, RecordingWorker
from workflows.jobs import Job
from workflows.jobs.api.queues import sync_queues
from workflows.jobs.models import Queue
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db


def jobs(*args: str) -> str:
    out = io.StringIO()
    call_command("jobs", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def queues(executions):
    sync_queues()


def test_status_shows_each_queue_and_each_node():
    RecordingWorker.enqueue({}, queue="email")
    FailingWorker.enqueue({})
    drain_queue("default", with_scheduled=True)
    NodeFactory(name="node-a", heartbeat_at=timezone.now())
    NodeFactory(name="node-b", heartbeat_at=timezone.now() - timedelta(minutes=5))
    output = jobs("status")
    email = next(line for line in output.splitlines() if line.startswith("email "))
    # The last two columns: rate limit and partition ("-": none).
    assert email.split() == ["email", "5", "no", "0", "1", "0", "0", "0", "-", "-"]
    default = next(line for line in output.splitlines() if line.startswith("default "))
    assert default.split()[-3] == "1", "one dead letter"
    medical = next(line for line in output.splitlines() if line.startswith("medical_workflow "))
    assert "author_id:2: 0/2, 0 running, 0 waiting" in medical
    assert "node-a" in output and "alive" in output and "dead" in output


def test_pause_resume_and_scale():
    assert jobs("pause", "email") == "paused email\n"
    assert Queue.objects.get(name="email").paused
    jobs("resume", "email")
    assert not Queue.objects.get(name="email").paused
    jobs("scale", "email", "2")
    assert Queue.objects.get(name="email").limit == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pause", "emial"), "unknown queue 'emial'"),
        (("scale", "email", "0"), "whole number >= 1"),
        (("retry",), "give job ids"),
        (("retry", "999999"), "no job with id 999999"),
        (("cancel",), "give job ids"),
    ],
)
def test_bad_arguments_get_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        jobs(*args)


def test_bad_arguments_exit_with_status_1():
    result = manage_py("jobs", "scale", "email", "x")
    assert result.returncode != 0 and "invalid int value: 'x'" in result.stderr


def test_retry_by_id_and_all_dead_letters_of_a_worker():
    first, second = FailingWorker.enqueue({"n": 1}), FailingWorker.enqueue({"n": 2})
    drain_queue("default", with_scheduled=True)
    assert jobs("retry", str(first.pk)) == "retried 1 job(s)\n"
    assert Job.objects.get(pk=first.pk).state == "available"
    assert jobs("retry", "--discarded", "--worker", "FailingWorker") == "retried 1 job(s)\n"
    assert Job.objects.get(pk=second.pk).state == "available"


def test_cancel_by_id_and_by_queue():
    a = RecordingWorker.enqueue({}, queue="email")
    b = RecordingWorker.enqueue({}, queue="email", schedule_in=60)
    c = RecordingWorker.enqueue({})
    assert jobs("cancel", str(c.pk)) == "cancelled 1 job(s)\n"
    assert jobs("cancel", "--queue", "email") == "cancelled 2 job(s)\n"
    assert {j.state for j in Job.objects.filter(pk__in=[a.pk, b.pk, c.pk])} == {"cancelled"}


def test_dead_lists_dead_letters_with_their_last_error():
    job = FailingWorker.enqueue({})
    drain_queue("default", with_scheduled=True)
    output = jobs("dead")
    line = next(line for line in output.splitlines() if line.startswith(str(job.pk)))
    assert "FailingWorker" in line and "3/3" in line and "RuntimeError" in line
    assert "529.982.247-25" not in output
    assert jobs("dead", "--queue", "email") == "no dead letters\n"


def test_retry_every_dead_letter_of_one_queue():
    in_email = FailingWorker.enqueue({"n": 1}, queue="email")
    in_default = FailingWorker.enqueue({"n": 2})
    drain_queue("email", with_scheduled=True)
    drain_queue("default", with_scheduled=True)
    assert jobs("retry", "--discarded", "--queue", "email") == "retried 1 job(s)\n"
    assert Job.objects.get(pk=in_email.pk).state == "available"
    assert Job.objects.get(pk=in_default.pk).state == "discarded"


def test_prune_deletes_finished_jobs_past_their_age_now():
    old, recent = RecordingWorker.enqueue({"n": 1}), RecordingWorker.enqueue({"n": 2})
    Job.objects.filter(pk=old.pk).update(
        state="completed", completed_at=timezone.now() - timedelta(days=8)
    )
    Job.objects.filter(pk=recent.pk).update(
        state="completed", completed_at=timezone.now() - timedelta(days=1)
    )
    assert jobs("prune").startswith("pruned 1 job(s)")
    assert not Job.objects.filter(pk=old.pk).exists()
    assert Job.objects.filter(pk=recent.pk).exists()


def test_sync_creates_the_queues_and_cron_schedules_from_settings():
    from django_q.models import Schedule

    Queue.objects.all().delete()
    Schedule.objects.all().delete()
    output = jobs("sync")
    assert output.startswith("synced 5 queue(s) and ")
    assert set(Queue.objects.values_list("name", flat=True)) == {
        "medical_workflow",
        "lgpd_analysis",
        "compliance_check",
        "email",
        "default",
    }
    assert output.endswith("and 5 cron schedule(s)\n"), "the product's five crontab entries"
    assert Schedule.objects.filter(schedule_type=Schedule.CRON).count() == 5
