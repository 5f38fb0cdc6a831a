"""Regression tests of the hardening that need no cluster: the claim ring, the supervisor's
revocations against a real database, outcomes that cannot be written as computed, foreign
django-q2 schedules, and bad input that used to abort the caller's transaction."""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from django_q.models import Schedule

from tests.support.commands import manage_py
from tests.support.workers import FailingWorker, RecordingWorker
from workflows.jobs import (
    Job,
    JobsError,
    JobValidationError,
    Unique,
    cancel_job,
    retry_job,
)
from workflows.jobs.api.queues import UnknownQueueError, scale_queue, sync_queues
from workflows.jobs.conf import jobs_settings
from workflows.jobs.execution import attempt as executor
from workflows.jobs.execution import interrupts
from workflows.jobs.node import runtime
from workflows.jobs.node.cron import SCHEDULE_PREFIX
from workflows.jobs.node.runtime import ClaimStatus, NodeRuntime, StartDecision, epoch_us
from workflows.jobs.node.supervisor import Supervisor
from workflows.jobs.policy.outcomes import JobCancelledWhileRunning
from workflows.jobs.policy.text import MAX_DELAY_SECONDS, MAX_ERROR_CHARS, clamp_delay
from workflows.jobs.policy.unique import UniqueOptionError
from workflows.jobs.policy.validation import MAX_JSON_DEPTH
from workflows.jobs.runner.schedules import sync_schedules
from workflows.jobs.store import outcomes as store_outcomes
from workflows.jobs.testing import drain_queue


def _runtime(name: str = "test-node") -> NodeRuntime:
    return NodeRuntime(name=name, queues=["default"], concurrency=2, prefetch=2)


class TestClaimRing:
    def test_a_claimed_job_starts_once_and_a_revoked_one_never(self):
        node = _runtime()
        at = epoch_us(timezone.now())
        node.registry.claimed([(1, 1, at), (2, 1, at)], packages=1)
        (_, second) = node.registry.pending_claims()
        assert node.registry.revoke([second]) == [second]
        node.registry.package_taken()
        assert node.registry.start(1, 1, at, 0, check_after_ms=2000) == StartDecision.RUN
        assert node.registry.start(2, 1, at, 0, check_after_ms=2000) == StartDecision.SKIP
        assert node.registry.pending_claims() == []
        assert node.registry.progress() == (1, 1, 1), "(packages handed, taken; jobs started)"

    def test_a_claim_unknown_to_the_ring_or_held_long_is_checked_against_the_database(self):
        node = _runtime()
        at = epoch_us(timezone.now())
        assert node.registry.start(9, 1, at, 0, check_after_ms=2000) == StartDecision.CHECK
        node.registry.leave()
        node.registry.claimed([(3, 1, at)])
        assert node.registry.start(3, 1, at, 0, check_after_ms=0) == StartDecision.CHECK

    def test_a_claim_with_another_claim_time_is_another_claim(self):
        """A job released and claimed again keeps (id, attempt): the claim time tells the
        stale package from the new one."""
        node = _runtime()
        old, new = epoch_us(timezone.now()), epoch_us(timezone.now() + timedelta(seconds=1))
        node.registry.claimed([(5, 1, old)])
        node.registry.revoke(node.registry.pending_claims())
        node.registry.claimed([(5, 1, new)])
        assert node.registry.start(5, 1, old, 0, check_after_ms=2000) == StartDecision.SKIP
        node.registry.leave()
        assert node.registry.start(5, 1, new, 0, check_after_ms=2000) == StartDecision.RUN

    def test_a_revoked_claim_is_never_revoked_twice_nor_a_started_one(self):
        node = _runtime()
        at = epoch_us(timezone.now())
        node.registry.claimed([(7, 1, at)])
        claims = node.registry.pending_claims()
        node.registry.start(7, 1, at, 0, check_after_ms=2000)
        assert node.registry.revoke(claims) == [], "started meanwhile: left alone"

    def test_a_lock_held_by_a_dead_process_is_reported_not_waited_for(self):
        node = _runtime()
        holder = multiprocessing.get_context("fork").Process(
            target=lambda: (node.registry._lock.acquire(), os._exit(0))
        )
        holder.start()  # a process that dies holding the lock
        holder.join()
        with pytest.raises(runtime.NodeWedged, match="registry lock"):
            node.registry.snapshot(timeout=0.2)

    def test_sigusr1_interrupts_only_the_job_marked_for_cancellation(self):
        node = _runtime()
        runtime.install(node)
        at = epoch_us(timezone.now())
        node.registry.start(11, 1, at, 0, check_after_ms=2000)
        (entry,) = node.registry.snapshot()
        interrupts._performing.active, interrupts._performing.job_id = True, 12
        try:
            node.registry.request_cancel(entry)
            interrupts.on_engine_signal(signal.SIGUSR1)  # for job 11: this perform is job 12
            assert interrupts._performing.active
            interrupts._performing.job_id = 11
            with pytest.raises(JobCancelledWhileRunning):
                interrupts.on_engine_signal(signal.SIGUSR1)
        finally:
            interrupts._performing.active = False
            runtime.install(None)


@pytest.mark.django_db(transaction=True)
class TestSupervisorRevocations:
    def _claimed_job(self, node: NodeRuntime, *, db_age_seconds: float):
        job = RecordingWorker.enqueue({})
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE jobs_job SET state = 'executing', attempt = 1, attempted_by = ARRAY[%s],"
                " attempted_at = now() - make_interval(secs => %s) WHERE id = %s "
                "RETURNING attempted_at",
                [node.name, db_age_seconds, job.pk],
            )
            (attempted_at,) = cursor.fetchone()
        node.registry.claimed([(job.pk, 1, epoch_us(attempted_at))])
        return job

    def test_a_jump_of_the_database_clock_does_not_release_a_fresh_claim(self):
        """Suspected: the release compared the database's clock with the worker's monotonic
        one. A claim 10 s old by the database's clock but fresh by this machine's stays."""
        node = _runtime()
        job = self._claimed_job(node, db_age_seconds=10)
        supervisor = Supervisor(node, jobs_settings())
        supervisor.settle_claims()
        assert Job.objects.get(pk=job.pk).state == "executing"
        assert [c.job_id for c in node.registry.pending_claims()] == [job.pk]
        supervisor._reset_db()

    def test_a_claim_held_past_the_release_time_is_revoked_and_released(self, monkeypatch):
        node = _runtime()
        job = self._claimed_job(node, db_age_seconds=0)
        supervisor = Supervisor(node, jobs_settings())
        later = runtime.monotonic_ms() + 6000
        monkeypatch.setattr("workflows.jobs.node.supervisor.monotonic_ms", lambda: later)
        supervisor.settle_claims()
        job.refresh_from_db()
        assert job.state == "available" and job.attempt == 0
        assert node.registry.pending_claims() == []
        assert node.registry._claims[4] == ClaimStatus.REVOKED
        supervisor._reset_db()

    def test_a_cancelled_claim_is_revoked_before_any_worker_starts_it(self):
        node = _runtime()
        job = self._claimed_job(node, db_age_seconds=0)
        assert cancel_job(job.pk)
        supervisor = Supervisor(node, jobs_settings())
        supervisor.settle_claims()
        at = epoch_us(Job.objects.get(pk=job.pk).attempted_at)
        assert node.registry.start(job.pk, 1, at, 0, check_after_ms=2000) == StartDecision.SKIP
        supervisor._reset_db()

    def test_a_claim_no_process_knows_is_released_at_the_second_sweep(self):
        node = _runtime()
        job = self._claimed_job(node, db_age_seconds=0)
        node.registry.revoke(node.registry.pending_claims())  # as if the ring lost it
        node.registry._claims[:] = [0] * len(node.registry._claims)
        supervisor = Supervisor(node, jobs_settings())
        supervisor.release_orphaned_claims()
        assert Job.objects.get(pk=job.pk).state == "executing", "not at the first sweep"
        supervisor.release_orphaned_claims()
        assert Job.objects.get(pk=job.pk).state == "available"
        supervisor._reset_db()

    def test_the_leader_lease_is_held_by_one_node_until_it_expires(self, settings):
        settings.JOBS = {**settings.JOBS, "leader_lease_seconds": 1.0}
        first = Supervisor(_runtime("first"), jobs_settings())
        second = Supervisor(_runtime("second"), jobs_settings())
        first.try_lead()
        second.try_lead()
        assert first.is_leader and not second.is_leader
        first.lead_until = float("-inf")  # first stops renewing (frozen)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE jobs_lease SET expires_at = now() - interval '1 s'")
        second.try_lead()
        first.try_lead()
        assert second.is_leader and not first.is_leader
        first._reset_db()
        second._reset_db()


@pytest.mark.django_db
class TestOutcomesThatCannotBeWritten:
    def test_error_text_is_made_storable(self):
        text = executor.scrub("NUL \x00 surrogate \udcff " + "x" * 20_000)
        assert "\x00" not in text and len(text) <= MAX_ERROR_CHARS
        text.encode("utf-8")

    @pytest.mark.parametrize(
        ("delay", "expected"),
        [(2**61, MAX_DELAY_SECONDS), (-5, 0.0), (float("nan"), 0.0), ("x", 0.0)],
    )
    def test_delays_are_clamped(self, delay, expected):
        assert clamp_delay(delay) == expected

    def test_a_refused_outcome_write_falls_back_to_a_failed_attempt(self, monkeypatch):
        """The outcome's own values are refused by the database: a minimal failed attempt is
        recorded instead, so the job cannot loop."""
        job = FailingWorker.enqueue({})
        real = store_outcomes.error_entry

        def broken_entry(attempt, text):
            if "boom" in text:
                return "not json"
            return real(attempt, text)

        monkeypatch.setattr(store_outcomes, "error_entry", broken_entry)
        drain_queue("default")
        job.refresh_from_db()
        assert job.state == "retryable" and job.attempt == 1
        assert "could not be recorded" in job.errors[-1]["error"]


@pytest.mark.django_db(transaction=True)
class TestForeignSchedules:
    def test_a_foreign_schedule_does_not_stop_the_cron_jobs_due_with_it(self, settings):
        from django_q.scheduler import scheduler

        from workflows.jobs.runner.broker import JobsBroker

        settings.JOBS = {
            **settings.JOBS,
            "crontab": [("*/5 * * * *", "tests.support.workers.RecordingWorker")],
        }
        sync_schedules()
        Schedule.objects.create(
            name="added in django-q2's admin",
            func="os.system",
            args="'true'",
            repeats=-1,
            schedule_type=Schedule.MINUTES,
            minutes=1,
        )
        Schedule.objects.update(next_run=timezone.now() - timedelta(minutes=1))
        scheduler(broker=JobsBroker())
        (job,) = Job.objects.all()
        assert job.worker == "tests.support.workers.RecordingWorker"
        sync_schedules()
        assert list(Schedule.objects.values_list("name", flat=True)) == [
            f"{SCHEDULE_PREFIX}tests.support.workers.RecordingWorker:*/5 * * * *"
        ]

    def test_django_q2_s_admin_pages_are_not_registered(self):
        from django_q.models import Failure, OrmQ, Success

        for model in (Schedule, Success, Failure, OrmQ):
            assert not admin.site.is_registered(model)


def _jobs(*args: str) -> str:
    out = io.StringIO()
    call_command("jobs", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestBadInput:
    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (lambda: Unique(period=10**13), "at most"),
            (
                lambda: RecordingWorker.enqueue({}, tags=["t"] * 0 + [f"t{i}" for i in range(200)]),
                "at most 50 tags",
            ),
            (lambda: retry_job(2**70), "out of range"),
            (lambda: cancel_job("abc"), "whole number"),
            (lambda: retry_job(True), "whole number"),
            (lambda: scale_queue("default", 2**40), "at most"),
            (lambda: RecordingWorker.enqueue(_nested(MAX_JSON_DEPTH + 5)), "levels deep"),
            (lambda: RecordingWorker.enqueue(_nested(5000)), "levels deep"),
        ],
    )
    def test_each_is_a_validation_error_and_the_transaction_survives(self, call, message):
        sync_queues()
        with transaction.atomic():
            with pytest.raises(JobValidationError, match=message):
                call()
            assert Job.objects.count() == 0  # the transaction still works

    def test_a_worker_path_longer_than_the_column_is_refused(self):
        job = RecordingWorker.new({})
        job.worker = "tests." + "x" * 300 + ".Worker"
        with transaction.atomic():
            with pytest.raises(JobValidationError, match="shorter module path"):
                from workflows.jobs import insert

                insert(job)
            assert Job.objects.count() == 0

    def test_the_errors_share_one_root(self):
        assert issubclass(UniqueOptionError, JobValidationError)
        assert issubclass(UnknownQueueError, JobsError)
        assert issubclass(JobValidationError, JobsError)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("scale", "default", "99999999999"), "at most"),
            (("retry", str(2**70)), "out of range|no job"),
        ],
    )
    def test_the_command_answers_in_one_line(self, args, message):
        sync_queues()
        with pytest.raises(CommandError, match=message):
            _jobs(*args)

    def test_a_huge_dead_letter_limit_is_refused_without_a_traceback(self):
        result = manage_py("jobs", "dead", "--limit", "99999999999999999999")
        assert result.returncode != 0
        assert "--limit must be from 1 to" in result.stderr
        assert "Traceback" not in result.stderr

    def test_worker_filters_match_a_class_name_exactly_not_as_a_suffix(self, executions):
        sync_queues()
        failing = FailingWorker.enqueue({})
        RecordingWorker.enqueue({})
        assert "cancelled 0" in _jobs("cancel", "--worker", "Worker") or (
            Job.objects.filter(state="cancelled").count() == 0
        )
        assert Job.objects.filter(state="cancelled").count() == 0
        _jobs("cancel", "--worker", "FailingWorker")
        assert list(Job.objects.filter(state="cancelled").values_list("pk", flat=True)) == [
            failing.pk
        ]


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value
