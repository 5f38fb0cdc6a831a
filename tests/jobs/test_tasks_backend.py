"""workflows.jobs.tasks.JobsBackend: Django's Tasks API on the engine, run in-process through
the engine's real execution path (drain_queue). Runs under Django 5.2 with the django-tasks
backport and, in .venv-django6, under the newest Django 6.x (scripts/dev.py test)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from django.core import checks
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from healthcare_cms.privacy.identifiers import cpf_generate
from tests.support import tasks_app
from workflows.jobs import Job, Unique
from workflows.jobs.tasks import JobsBackend, JobsTask
from workflows.jobs.tasks.compat import (
    TASKS_MODULE,
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from workflows.jobs.tasks.mapping import django_priority, engine_priority, task_status
from workflows.jobs.tasks.results import exception_class_path
from workflows.jobs.tasks.worker import TASK_WORKER_PATH
from workflows.jobs.testing import drain_queue

pytestmark = pytest.mark.django_db

READY, RUNNING = TaskResultStatus.READY, TaskResultStatus.RUNNING
SUCCESSFUL, FAILED = TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED


def _run_all() -> None:
    drain_queue("default", with_scheduled=True)


# --- the mapping tables ------------------------------------------------------------------------
def test_priority_maps_onto_the_engine_keeping_the_order_and_back():
    mapped = [engine_priority(p) for p in range(100, -101, -1)]
    assert mapped == sorted(mapped), "a larger Django priority never runs later"
    assert set(mapped) == set(range(10))
    assert (engine_priority(100), engine_priority(0), engine_priority(-100)) == (0, 5, 9)
    for band in range(10):
        assert engine_priority(django_priority(band)) == band
    assert [django_priority(e) for e in (0, 5, 9)] == [100, 0, -80]


def test_states_map_onto_task_statuses():
    assert {s: task_status(s) for s in ("available", "scheduled", "retryable")} == dict.fromkeys(
        ("available", "scheduled", "retryable"), "READY"
    )
    assert task_status("executing") == "RUNNING"
    assert task_status("completed") == "SUCCESSFUL"
    assert task_status("discarded") == task_status("cancelled") == "FAILED"


def test_error_class_paths_are_read_from_stored_tracebacks():
    assert exception_class_path("Traceback ...\nValueError: x") == "builtins.ValueError"
    assert exception_class_path("Traceback ...\npkg.mod.Boom: x") == "pkg.mod.Boom"
    assert exception_class_path("Discarded: gone") == "workflows.jobs.policy.errors.JobsError"


# --- the backend -------------------------------------------------------------------------------
def test_the_backend_is_configured_with_its_flags_and_task_class():
    backend = task_backends["default"]
    assert isinstance(backend, JobsBackend)
    assert backend.supports_defer and backend.supports_get_result
    assert backend.supports_priority and backend.supports_async_task
    assert isinstance(tasks_app.add, JobsTask)


def test_enqueue_stores_one_job_and_returns_a_ready_result_whose_id_is_the_job_id():
    sent = []

    def receiver(sender, task_result, **kwargs):
        sent.append((sender, task_result))

    task_enqueued.connect(receiver)
    try:
        result = tasks_app.add.enqueue(2, b=3)
    finally:
        task_enqueued.disconnect(receiver)
    job = Job.objects.get(pk=int(result.id))
    assert job.worker == TASK_WORKER_PATH and job.state == "available"
    assert job.args == {"task": "tests.support.tasks_app.add", "args": [2], "kwargs": {"b": 3}}
    assert (job.queue, job.priority) == ("default", 5)
    assert result.status == READY and result.args == [2] and result.kwargs == {"b": 3}
    assert result.enqueued_at == job.inserted_at and result.attempts == 0
    assert [(sender, r.id) for sender, r in sent] == [(JobsBackend, result.id)]


def test_a_sync_task_runs_and_its_return_value_is_recorded():
    result = tasks_app.add.enqueue(2, 3)
    _run_all()
    result.refresh()
    assert result.status == SUCCESSFUL and result.return_value == 5
    assert result.finished_at and result.started_at and result.last_attempted_at
    assert result.attempts == 1 and result.worker_ids[0]
    assert Job.objects.get(pk=int(result.id)).result == 5


def test_an_async_task_runs_on_an_event_loop():
    result = tasks_app.async_echo.enqueue("hi")
    assert Job.objects.get(pk=int(result.id)).priority == engine_priority(50)
    _run_all()
    assert tasks_app.async_echo.get_result(result.id).return_value == {
        "echoed": "hi",
        "loop": True,
    }


def test_a_task_taking_context_gets_the_attempt_number():
    result = tasks_app.with_context.enqueue(note="n")
    _run_all()
    assert task_backends["default"].get_result(result.id).return_value == {
        "attempt": 1,
        "note": "n",
        "id": result.id,
    }


def test_using_sets_priority_run_after_and_queue():
    at = timezone.now() + timedelta(hours=1)
    result = tasks_app.add.using(priority=-100, run_after=at, queue_name="email").enqueue(1, 1)
    job = Job.objects.get(pk=int(result.id))
    assert (job.priority, job.queue, job.scheduled_at, job.state) == (9, "email", at, "scheduled")
    fetched = tasks_app.add.get_result(result.id)
    assert fetched.status == READY
    assert fetched.task.priority == -100 and fetched.task.queue_name == "email"
    assert fetched.task.run_after == at


def test_engine_options_come_from_options_and_the_task_overrides_them():
    with override_settings(
        TASKS={
            "default": {
                "BACKEND": "workflows.jobs.tasks.JobsBackend",
                "OPTIONS": {"max_attempts": 4, "timeout": 30},
            }
        }
    ):
        job = Job.objects.get(pk=int(tasks_app.add.enqueue(1, 2).id))
        assert (job.max_attempts, job.meta["timeout"]) == (4, 30)
        tuned = tasks_app.add.using(max_attempts=2, timeout=5, unique=Unique(period=60))
        first, second = tuned.enqueue(1, 2), tuned.enqueue(1, 2)
        job = Job.objects.get(pk=int(first.id))
        assert (job.max_attempts, job.meta["timeout"]) == (2, 5)
        assert second.id == first.id, "a unique task is enqueued once"


def test_a_failing_task_retries_then_fails_with_its_error_masked():
    cpf = cpf_generate(formatted=True)
    result = tasks_app.always_fails.using(max_attempts=2).enqueue(f"CPF {cpf}")
    drain_queue("default")
    result.refresh()
    assert result.status == READY and result.attempts == 1 and len(result.errors) == 1
    _run_all()
    result.refresh()
    assert result.status == FAILED and result.attempts == 2
    assert [e.exception_class_path for e in result.errors] == ["builtins.ValueError"] * 2
    assert result.errors[-1].exception_class is ValueError
    assert "failed for CPF" in result.errors[-1].traceback
    assert cpf not in result.errors[-1].traceback
    with pytest.raises(ValueError):
        result.return_value  # noqa: B018


def test_signals_task_started_and_task_finished_are_sent_from_the_worker():
    seen = []

    def on(signal_name):
        def receiver(sender, task_result, **kwargs):
            seen.append((signal_name, sender, task_result.status, task_result.id))

        return receiver

    started, finished = on("started"), on("finished")
    task_started.connect(started)
    task_finished.connect(finished)
    try:
        ok = tasks_app.add.enqueue(1, 1)
        bad = tasks_app.always_fails.using(max_attempts=1).enqueue("x")
        _run_all()
    finally:
        task_started.disconnect(started)
        task_finished.disconnect(finished)
    assert ("started", JobsBackend, RUNNING, ok.id) in seen
    assert ("finished", JobsBackend, SUCCESSFUL, ok.id) in seen
    assert ("finished", JobsBackend, FAILED, bad.id) in seen


def test_get_result_of_an_unknown_id_raises_result_does_not_exist():
    backend = task_backends["default"]
    for unknown in ("999999999", "not-a-number", "-1", str(2**70)):
        with pytest.raises(TaskResultDoesNotExist):
            backend.get_result(unknown)


def test_a_task_not_among_the_discovered_modules_is_discarded_saying_how_to_register_it():
    result = tasks_app.add.enqueue(1, 2)
    Job.objects.filter(pk=int(result.id)).update(
        args={"task": "somewhere.else.unknown", "args": [], "kwargs": {}}
    )
    _run_all()
    job = Job.objects.get(pk=int(result.id))
    assert job.state == "discarded"
    assert "JOBS['worker_modules']" in job.last_error and "`workers` module" in job.last_error


def test_a_return_value_json_cannot_hold_fails_the_task():
    result = tasks_app.returns_a_set.using(max_attempts=1).enqueue()
    _run_all()
    result.refresh()
    assert result.status == FAILED
    assert result.errors[-1].exception_class_path == "builtins.TypeError"


def test_patient_data_in_args_and_results_is_never_logged(caplog):
    cpf = cpf_generate(formatted=False)
    caplog.set_level(logging.DEBUG)
    tasks_app.add.enqueue(f"{cpf}-", "Zuleika Brandão")
    tasks_app.always_fails.using(max_attempts=1).enqueue(cpf)
    _run_all()
    assert cpf not in caplog.text and "Zuleika" not in caplog.text


# --- invalid tasks -----------------------------------------------------------------------------
def _nested():
    @task
    def inner():
        return 1

    return inner


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: task(lambda: 1), "module level"),
        (_nested, "module level"),
        (lambda: tasks_app.add.using(queue_name="nowhere"), "nowhere"),
        (lambda: tasks_app.add.using(run_after=datetime(2030, 1, 1)), "aware"),
        (lambda: tasks_app.add.using(max_attempts=0), "max_attempts"),
    ],
    ids=["lambda", "nested function", "unknown queue", "naive run_after", "max_attempts"],
)
def test_invalid_tasks_raise_invalid_task_naming_the_problem(make, problem):
    with pytest.raises(InvalidTask, match=problem):
        make()


@override_settings(TASKS={"default": {"BACKEND": "workflows.jobs.tasks.JobsBackend", "QUEUES": []}})
def test_a_queue_the_engine_does_not_define_is_refused_even_without_queues():
    with pytest.raises(InvalidTask, match="unknown queue 'nowhere'"):
        tasks_app.add.using(queue_name="nowhere")


@pytest.mark.parametrize(
    ("args", "kwargs", "problem"),
    [((object(),), {}, "args\\[0\\] is a object"), ((), {"s": {1}}, "kwargs\\['s'\\] is a set")],
    ids=["object arg", "set kwarg"],
)
def test_non_json_arguments_are_refused_and_the_callers_transaction_is_intact(
    args, kwargs, problem
):
    with transaction.atomic():
        kept = tasks_app.add.enqueue(1, 2)
        with pytest.raises(InvalidTask, match=problem):
            tasks_app.add.enqueue(*args, **kwargs)
        with connection.cursor() as cursor:  # the transaction still works
            cursor.execute("SELECT count(*) FROM jobs_job WHERE id = %s", [int(kept.id)])
            assert cursor.fetchone() == (1,)
    assert Job.objects.filter(worker=TASK_WORKER_PATH).count() == 1


def test_the_job_exists_iff_the_callers_transaction_commits():
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = tasks_app.add.enqueue(1, 2)
        raise RuntimeError("the caller fails after enqueueing")
    assert not Job.objects.filter(pk=int(rolled_back.id)).exists()


# --- system checks -----------------------------------------------------------------------------
def test_check_reports_queues_the_engine_does_not_define():
    backend = JobsBackend("x", {"QUEUES": ["default", "emial"], "OPTIONS": {"timeout": 0}})
    messages = list(backend.check())
    assert [m.id for m in messages] == ["jobs.E101", "jobs.E102"]
    assert "'emial'" in messages[0].msg and "JOBS['queues']" in messages[0].msg
    assert isinstance(messages[0], checks.Error)


def test_the_installed_tasks_module_is_the_one_for_this_django():
    import django

    assert ("django.tasks" if django.VERSION >= (6, 0) else "django_tasks") == TASKS_MODULE
