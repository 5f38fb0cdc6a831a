"""Telemetry of every attempt run in this process (drain_queue, inline mode): the signals of
workflows.jobs.signals, the attempt's metrics and its log line, with patient data kept out."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest
from prometheus_client import REGISTRY, generate_latest

from tests.support.telemetry_workers import (
    PATIENT_ARGS,
    PATIENT_CNS,
    PATIENT_CPF,
    PATIENT_NAME,
    OkWorker,
    OutcomeWorker,
    PatientFailureWorker,
)
from workflows.jobs import Job, pause_queue, resume_queue, scale_queue, signals
from workflows.jobs.testing import drain_queue, testing_mode

pytestmark = pytest.mark.django_db
PATIENT_STRINGS = (PATIENT_CPF, PATIENT_CNS, PATIENT_NAME, "Maria", "Souza", "183016613180008")


@contextmanager
def received(signal):
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    signal.connect(receiver, weak=False)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


def _executed(queue: str, worker: type, outcome: str) -> float:
    path = f"{worker.__module__}.{worker.__qualname__}"
    value = REGISTRY.get_sample_value(
        "jobs_executed_total", {"queue": queue, "worker": path, "outcome": outcome}
    )
    return value or 0.0


@pytest.mark.parametrize(
    ("wanted", "outcomes"),
    [
        ("complete", ["completed"]),
        ("fail", ["retryable", "retryable", "discarded"]),
        ("discard", ["discarded"]),
        ("cancel", ["cancelled"]),
        ("snooze", ["snoozed", "completed"]),
    ],
)
def test_each_attempt_sends_exactly_one_job_finished_with_its_outcome(wanted, outcomes):
    job = OutcomeWorker.enqueue({"outcome": wanted})
    before = {o: _executed("default", OutcomeWorker, o) for o in set(outcomes)}
    with received(signals.job_started) as starts, received(signals.job_finished) as finishes:
        drain_queue("default", with_scheduled=True)
    assert [call["outcome"] for call in finishes] == outcomes
    assert len(starts) == len(outcomes)
    for call in finishes:
        assert call["sender"] is OutcomeWorker
        assert call["job"].pk == job.pk
        assert call["node"].startswith("test-process.")
        assert call["duration_seconds"] >= 0 and call["queue_time_seconds"] >= 0
        # Sent after the outcome is committed: the row already says what the signal says.
        assert set(call) >= {"job", "node", "outcome", "duration_seconds", "queue_time_seconds"}
    errors = [call["error"] for call in finishes]
    if wanted == "fail":
        assert all("RuntimeError: failed on purpose" in error for error in errors)
    elif wanted in ("complete", "snooze"):
        assert errors == [None] * len(outcomes)
    for outcome in set(outcomes):
        assert _executed("default", OutcomeWorker, outcome) - before[outcome] == outcomes.count(
            outcome
        )


def test_job_finished_is_sent_after_the_outcome_is_recorded():
    seen = []

    def receiver(sender, job, outcome, **kwargs):
        seen.append((outcome, Job.objects.get(pk=job.pk).state))

    signals.job_finished.connect(receiver, weak=False)
    try:
        OutcomeWorker.enqueue({"outcome": "complete"})
        drain_queue("default")
    finally:
        signals.job_finished.disconnect(receiver)
    assert seen == [("completed", "completed")]


def test_inline_mode_sends_the_signals_too():
    with received(signals.job_finished) as finishes, testing_mode("inline"):
        OutcomeWorker.enqueue({"outcome": "discard"})
    assert [call["outcome"] for call in finishes] == ["discarded"]


def test_a_raising_receiver_leaves_the_outcome_unchanged_and_is_logged_and_counted(caplog):
    def broken(sender, **kwargs):
        raise RuntimeError(f"receiver bug {PATIENT_CPF}")

    counted = (
        REGISTRY.get_sample_value("jobs_signal_receiver_errors_total", {"signal": "job_finished"})
        or 0.0
    )
    signals.job_started.connect(broken, weak=False)
    signals.job_finished.connect(broken, weak=False)
    try:
        with received(signals.job_finished) as finishes, caplog.at_level(logging.ERROR):
            job = OutcomeWorker.enqueue({"outcome": "complete"})
            assert drain_queue("default")["success"] == 1
    finally:
        signals.job_started.disconnect(broken)
        signals.job_finished.disconnect(broken)
    job.refresh_from_db()
    assert job.state == "completed" and job.errors == []
    assert [call["outcome"] for call in finishes] == ["completed"], "other receivers still ran"
    assert "a receiver of job_finished" in caplog.text and "RuntimeError" in caplog.text
    assert PATIENT_CPF not in caplog.text
    assert (
        REGISTRY.get_sample_value("jobs_signal_receiver_errors_total", {"signal": "job_finished"})
        == counted + 1
    )


def test_queue_changed_is_sent_for_pause_resume_and_scale():
    with received(signals.queue_changed) as changes:
        pause_queue("default")
        resume_queue("default")
        scale_queue("default", 7, by="ops-user")
    assert [(c["queue"], c["action"], c["limit"]) for c in changes] == [
        ("default", "pause", changes[0]["limit"]),
        ("default", "resume", changes[0]["limit"]),
        ("default", "scale", 7),
    ]
    assert changes[2]["by"] == "ops-user"
    assert all(c["sender"] is None for c in changes)


def test_log_lines_per_outcome_with_their_levels_and_extra_fields(caplog):
    for wanted in ("fail", "discard", "snooze", "cancel", "complete"):
        OutcomeWorker.enqueue({"outcome": wanted})
    with caplog.at_level(logging.DEBUG, logger="workflows.jobs.attempts"):
        drain_queue("default")
    records = [r for r in caplog.records if r.name == "workflows.jobs.attempts"]
    by_outcome = {r.job_outcome: r for r in records}
    failed = by_outcome["retryable"]
    assert failed.levelno == logging.WARNING
    assert failed.getMessage() == (
        f"job {failed.job_id} OutcomeWorker (default) attempt 1/3 failed: "
        "RuntimeError: failed on purpose ; retry in 17 s"
    )
    assert failed.job_retry_in_seconds == 17 and failed.job_error_type == "RuntimeError"
    assert by_outcome["discarded"].levelno == logging.ERROR
    assert by_outcome["snoozed"].levelno == logging.INFO
    assert by_outcome["cancelled"].levelno == logging.INFO
    assert by_outcome["completed"].levelno == logging.DEBUG
    for record in records:
        assert record.job_worker == "tests.support.telemetry_workers.OutcomeWorker"
        assert record.job_queue == "default" and record.job_max_attempts == 3


def test_patient_data_reaches_no_log_metric_or_signal(caplog):
    """A job whose args and exception message hold a CPF, a CNS and a name."""
    PatientFailureWorker.enqueue(dict(PATIENT_ARGS))
    OkWorker.enqueue(dict(PATIENT_ARGS))
    with (
        received(signals.job_finished) as finishes,
        received(signals.job_started),
        caplog.at_level(logging.DEBUG),
    ):
        drain_queue("default", with_scheduled=True)
    assert [c["outcome"] for c in finishes].count("discarded") == 1
    failures = [c for c in finishes if c["error"]]
    assert len(failures) == 2  # retryable, then discarded
    logged = "\n".join(
        [r.getMessage() for r in caplog.records]
        + [str(vars(r)) for r in caplog.records if r.name == "workflows.jobs.attempts"]
    )
    assert "attempt 1/2 failed: ValueError: could not send to patient [NAME]" in logged
    exposition = generate_latest(REGISTRY).decode()
    assert "PatientFailureWorker" in exposition
    for secret in PATIENT_STRINGS:
        assert secret not in logged
        assert secret not in exposition
        for call in failures:
            assert secret not in call["error"]


def test_a_cron_slot_is_a_plugin_run_counted_once_inserted():
    from workflows.jobs.node.cron import crontab, insert_cron_job

    entry = crontab()[0]
    before = (
        REGISTRY.get_sample_value("jobs_plugin_runs_total", {"plugin": "cron", "outcome": "ok"})
        or 0.0
    )
    with received(signals.plugin_ran) as runs:
        insert_cron_job(entry.worker, entry.expression, "2026-11-30T10:00:00+00:00")
        insert_cron_job(entry.worker, entry.expression, "2026-11-30T10:00:00+00:00")
    assert [(r["plugin"], r["counts"], r["error"]) for r in runs] == [
        ("cron", {"inserted": 1}, None),
        ("cron", {"inserted": 0}, None),
    ]
    assert all(r["duration_seconds"] >= 0 and r["sender"] is None for r in runs)
    after = REGISTRY.get_sample_value("jobs_plugin_runs_total", {"plugin": "cron", "outcome": "ok"})
    assert after == before + 2


def test_the_jobs_command_says_who_changed_the_queue():
    from io import StringIO

    from django.core.management import call_command

    with received(signals.queue_changed) as changes:
        call_command("jobs", "pause", "email", stdout=StringIO())
        call_command("jobs", "scale", "email", "3", stdout=StringIO())
    assert [(c["action"], c["limit"], c["by"]) for c in changes] == [
        ("pause", changes[0]["limit"], "manage.py jobs"),
        ("scale", 3, "manage.py jobs"),
    ]


def test_jobs_log_level_sets_the_attempt_loggers_level():
    import os
    import subprocess
    import sys

    from tests.support.clusters import PROJECT_ROOT

    code = "import logging; print(logging.getLogger('workflows.jobs.attempts').level)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=PROJECT_ROOT,
        env={**os.environ, "JOBS_LOG_LEVEL": "ERROR"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(logging.ERROR)
