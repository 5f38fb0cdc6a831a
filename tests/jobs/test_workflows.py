"""Workflows in one process (drain_queue): the graph refused before SQL, release of
dependents, the on_dep_failure cascades, retry bringing dependents back, cancel/retry of a
whole workflow, uniqueness, and a 1,000-step fan-in whose bookkeeping stays linear."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from tests.support.workflow_workers import ResultStepWorker, StepWorker
from workflows.jobs import (
    Job,
    JobValidationError,
    Unique,
    Workflow,
    cancel_job,
    cancel_workflow,
    insert,
    insert_workflow,
    retry_job,
    retry_workflow,
)
from workflows.jobs.models import JobWorkflow
from workflows.jobs.testing import drain_queue

pytestmark = [pytest.mark.django_db]


def _step(name: str, **args):
    return StepWorker.new({"step": name, **args})


def _unstorable():
    job = _step("b")
    job.args = {"step": "b", "when": object()}  # changed after new(): checked at insert
    return job


def _states(jobs: dict) -> dict[str, str]:
    return {name: Job.objects.get(pk=job.pk).state for name, job in jobs.items()}


def _diamond(**c_args) -> Workflow:
    """a -> (b, c) -> d: fan-out then fan-in."""
    return (
        Workflow("diamond")
        .add("a", _step("a"))
        .add("b", _step("b"), deps=["a"])
        .add("c", _step("c", **c_args), deps=["a"])
        .add("d", _step("d"), deps=["b", "c"])
    )


def test_steps_with_deps_wait_suspended_and_are_released_by_their_last_dep():
    jobs = insert_workflow(_diamond())
    assert {n: (j.state, j.deps_pending) for n, j in jobs.items()} == {
        "a": ("available", 0),
        "b": ("suspended", 1),
        "c": ("suspended", 1),
        "d": ("suspended", 2),
    }
    assert {j.workflow_id for j in jobs.values()} == {jobs["a"].workflow_id}
    assert JobWorkflow.objects.get(pk=jobs["a"].workflow_id).name == "diamond"
    # Only the root is claimable; the others wait for their deps.
    assert drain_queue("default") == {
        "success": 4,
        "failure": 0,
        "discard": 0,
        "cancelled": 0,
        "snoozed": 0,
    }
    done = Job.objects.filter(pk__in=[j.pk for j in jobs.values()])
    completed = {job.step: job for job in done}
    for name, deps in (("b", "a"), ("c", "a"), ("d", "bc")):
        for dep in deps:
            assert completed[name].attempted_at >= completed[dep].completed_at, (name, dep)


def test_dep_results_names_each_dep_by_its_step():
    jobs = insert_workflow(_diamond())
    drain_queue("default")
    d = Job.objects.get(pk=jobs["d"].pk)
    assert d.dep_results() == {"b": None, "c": None}  # StepWorker records no result


def test_a_step_reads_the_results_its_deps_recorded():
    def step(name):
        return ResultStepWorker.new({"step": name})

    jobs = insert_workflow(
        Workflow("results")
        .add("a", step("a"))
        .add("b", step("b"), deps=["a"])
        .add("c", step("c"), deps=["a", "b"])
    )
    drain_queue("default")
    a_result = {"step": "a", "saw": []}
    b_result = {"step": "b", "saw": [["a", a_result]]}
    assert Job.objects.get(pk=jobs["b"].pk).result == b_result
    assert Job.objects.get(pk=jobs["c"].pk).result == {
        "step": "c",
        "saw": [["a", a_result], ["b", b_result]],
    }


@pytest.mark.parametrize(
    ("workflow", "message"),
    [
        (lambda: Workflow("w").add("a", _step("a"), deps=["nope"]), "Step 'a' depends on unknown"),
        (
            lambda: (
                Workflow("w")
                .add("a", _step("a"), deps=["c"])
                .add("b", _step("b"), deps=["a"])
                .add("c", _step("c"), deps=["b"])
                .add("x", _step("x"))
            ),
            "cycle through step(s) ['a', 'b', 'c']",
        ),
        (lambda: Workflow("w").add("a", _step("a"), deps=["a"]), "Step 'a' depends on itself"),
        (lambda: Workflow("w"), "at least one step"),
        (lambda: Workflow("w").add("a", _step("a")).add("b", _unstorable()), "Step 'b': "),
    ],
)
def test_bad_workflows_are_refused_before_any_sql_naming_the_step(
    workflow, message, django_assert_num_queries
):
    with transaction.atomic():
        kept = insert(StepWorker.new({"step": "before"}))
        with pytest.raises(JobValidationError, match=re.escape(message)):
            wf = workflow()
            with django_assert_num_queries(0):
                insert_workflow(wf)
        # The caller's transaction is intact and what it stored is kept.
        assert Job.objects.filter(pk=kept.pk).exists()
    assert Job.objects.count() == 1 and JobWorkflow.objects.count() == 0


def test_duplicate_names_bad_policies_and_too_many_steps_are_refused():
    with pytest.raises(JobValidationError, match="Two steps are named 'a'"):
        Workflow("w").add("a", _step("a")).add("a", _step("a"))
    with pytest.raises(JobValidationError, match="Step 'b': on_dep_failure must be one of"):
        Workflow("w").add("a", _step("a")).add("b", _step("b"), deps=["a"], on_dep_failure="x")
    with override_settings(JOBS={"workflow_max_steps": 3}):
        wf = Workflow("big")
        for i in range(4):
            wf.add(f"s{i}", _step(f"s{i}"))
        with pytest.raises(JobValidationError, match="at most 3 steps"):
            insert_workflow(wf)
    assert Job.objects.count() == 0


def test_a_refused_insert_inside_a_transaction_stores_nothing_of_the_workflow():
    with pytest.raises(RuntimeError), transaction.atomic():
        insert_workflow(_diamond())
        raise RuntimeError("the caller rolls back")
    assert Job.objects.count() == 0 and JobWorkflow.objects.count() == 0


def test_a_discarded_dep_cancels_its_dependents_transitively_naming_the_dep():
    wf = (
        Workflow("chain")
        .add("a", _step("a", outcome="discard"))
        .add("b", _step("b"), deps=["a"])
        .add("c", _step("c"), deps=["b"])
    )
    jobs = insert_workflow(wf)
    drain_queue("default")
    assert _states(jobs) == {"a": "discarded", "b": "cancelled", "c": "cancelled"}
    b, c = Job.objects.get(pk=jobs["b"].pk), Job.objects.get(pk=jobs["c"].pk)
    assert b.last_error.startswith(f"Cancelled: dep 'a' (job {jobs['a'].pk}) was discarded: ")
    assert "step a refused its input" in b.last_error
    assert c.last_error.startswith(f"Cancelled: dep 'b' (job {jobs['b'].pk}) was cancelled after")
    assert b.cancelled_at is not None and b.attempt == 0


def test_on_dep_failure_discard_and_run():
    wf = (
        Workflow("policies")
        .add("a", _step("a", outcome="cancel"))
        .add("discards", _step("discards"), deps=["a"], on_dep_failure="discard")
        .add("runs", _step("runs"), deps=["a"], on_dep_failure="run")
        .add("after_discards", _step("x"), deps=["discards"], on_dep_failure="run")
    )
    jobs = insert_workflow(wf)
    drain_queue("default")
    assert _states(jobs) == {
        "a": "cancelled",
        "discards": "discarded",
        "runs": "completed",
        "after_discards": "completed",
    }
    assert "Discarded: dep 'a'" in Job.objects.get(pk=jobs["discards"].pk).last_error


def test_retrying_a_discarded_step_brings_its_cancelled_dependents_back():
    jobs = insert_workflow(_diamond(outcome="discard"))
    drain_queue("default")
    assert _states(jobs) == {"a": "completed", "b": "completed", "c": "discarded", "d": "cancelled"}
    # Fix the step's input, then retry it the way an operator does.
    Job.objects.filter(pk=jobs["c"].pk).update(args={"step": "c"})
    call_command("jobs", "retry", str(jobs["c"].pk))
    assert _states(jobs)["d"] == "suspended"
    assert Job.objects.get(pk=jobs["d"].pk).deps_pending == 1
    drain_queue("default")
    assert _states(jobs) == {"a": "completed", "b": "completed", "c": "completed", "d": "completed"}


def test_retrying_a_cancelled_dependent_waits_for_its_failed_dep():
    jobs = insert_workflow(_diamond(outcome="discard"))
    drain_queue("default")
    assert retry_job(jobs["d"].pk)
    assert _states(jobs)["d"] == "suspended", "its dep c is still discarded: it waits"
    assert not retry_job(jobs["d"].pk), "a waiting step is not retried"
    assert cancel_job(jobs["d"].pk), "a waiting step can be cancelled"


def test_cancel_workflow_and_retry_workflow():
    jobs = insert_workflow(_diamond())
    workflow = jobs["a"].workflow_id
    assert cancel_workflow(workflow, reason="wrong post") == 4
    assert set(_states(jobs).values()) == {"cancelled"}
    assert "the workflow was cancelled (wrong post)" in Job.objects.get(pk=jobs["d"].pk).last_error
    assert drain_queue("default")["success"] == 0
    assert retry_workflow(workflow) == 4
    assert _states(jobs) == {"a": "available", "b": "suspended", "c": "suspended", "d": "suspended"}
    drain_queue("default")
    assert set(_states(jobs).values()) == {"completed"}


def test_retry_workflow_retries_the_failed_step_and_not_its_followers():
    jobs = insert_workflow(_diamond(outcome="discard"))
    drain_queue("default")
    Job.objects.filter(pk=jobs["c"].pk).update(args={"step": "c"})
    assert retry_workflow(jobs["a"].workflow_id) == 1
    drain_queue("default")
    assert set(_states(jobs).values()) == {"completed"}


def test_a_unique_workflow_is_inserted_once():
    unique = Unique(period=None, keys=("step",))

    def build():
        return (
            Workflow("unique")
            .add("a", StepWorker.new({"step": "ua"}, unique=unique))
            .add("b", StepWorker.new({"step": "ub"}), deps=["a"])
        )

    first = insert_workflow(build())
    again = insert_workflow(build())
    assert {n: j.pk for n, j in again.items()} == {n: j.pk for n, j in first.items()}
    assert all(job.conflict for job in again.values())
    assert Job.objects.count() == 2 and JobWorkflow.objects.count() == 1


def _dep_edge_reads() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
            "FROM pg_stat_xact_user_tables WHERE relname = 'jobs_job_dep'"
        )
        return cursor.fetchone()[0]


def test_a_thousand_step_fan_in_settles_with_linear_work():
    wf = Workflow("fan-in").add("root", _step("root"))
    upstreams = [f"u{i}" for i in range(998)]
    for name in upstreams:
        wf.add(name, _step(name), deps=["root"])
    wf.add("sink", _step("sink"), deps=upstreams)
    jobs = insert_workflow(wf)
    assert Job.objects.get(pk=jobs["sink"].pk).deps_pending == 998
    # Statistics as autovacuum keeps them for a table that grew by 2,000 edges: with the
    # statistics of an empty table (a full test run analyzes it between tests) the planner
    # reads these few pages sequentially, a plan choice, not the bookkeeping measured here.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE jobs_job_dep")
    before = _dep_edge_reads()
    counts = drain_queue("default")
    assert counts["success"] == 1000
    assert Job.objects.get(pk=jobs["sink"].pk).state == "completed"
    # Each settled step reads its own edges (about 2,000 in all); a recount of the sink's
    # deps at each of its 998 deps would read about a million.
    assert _dep_edge_reads() - before < 20_000


def test_inline_testing_mode_runs_a_workflow_in_dependency_order(executions):
    from workflows.jobs.testing import testing_mode

    with testing_mode("inline"):
        jobs = insert_workflow(_diamond())
    assert {name: job.state for name, job in jobs.items()} == dict.fromkeys("abcd", "completed")
    started = [row["job_id"] for row in executions("start")]
    assert started.index(jobs["a"].pk) == 0 and started.index(jobs["d"].pk) == 3
