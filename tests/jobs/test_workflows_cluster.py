"""Workflows run by real qcluster subprocesses: no step starts before its deps completed
(recorded start times against completion times), a 1,000-step fan-out/fan-in completes, a
step in a paused queue holds its dependents, and a node killed by SIGKILL mid-workflow leaves
no dependent released twice or left suspended."""

from __future__ import annotations

import signal
from collections import Counter, defaultdict

import pytest

from tests.support.polling import wait_until
from tests.support.workflow_workers import StepWorker
from workflows.jobs import Job, Workflow, insert, insert_workflow, pause_queue, resume_queue
from workflows.jobs.models import JobDependency

pytestmark = [pytest.mark.cluster]
MODULES = "tests.support.workers,tests.support.workflow_workers"
FAST_LIFELINE = {"JOBS_NODE_DEAD_AFTER_SECONDS": "3"}


def _node(clusters, concurrency: int = 3, **env):
    return clusters.start(
        concurrency=concurrency, env={"JOBS_WORKER_MODULES": MODULES, **env}
    ).wait_ready()


def _step(name: str, **args):
    return StepWorker.new({"step": name, **args})


def _all_completed(ids) -> bool:
    return not Job.objects.filter(pk__in=ids).exclude(state="completed").exists()


def _assert_no_step_started_before_its_deps_completed(ids, executions):
    """Every attempt of a step (the "start" rows, written before perform on their own
    connection) began after each of its deps completed."""
    completed = dict(Job.objects.filter(pk__in=ids).values_list("pk", "completed_at"))
    starts: dict[int, list] = defaultdict(list)
    for row in executions("start"):
        starts[row["job_id"]].append(row["started"])
    edges = JobDependency.objects.filter(job_id__in=ids).values_list("job_id", "dep_id")
    checked = 0
    for job_id, dep_id in edges:
        assert min(starts[job_id]) >= completed[dep_id], (job_id, dep_id)
        checked += 1
    assert checked == JobDependency.objects.filter(job_id__in=ids).count() > 0


def _mixed_workflows(count: int, sleep: float) -> list[int]:
    """Chains, fan-outs and fan-ins: root -> (m0..m3) -> join -> tail."""
    ids = []
    for n in range(count):
        wf = Workflow(f"mixed {n}").add("root", _step("root", sleep=sleep))
        middles = [f"m{i}" for i in range(4)]
        for name in middles:
            wf.add(name, _step(name, sleep=sleep), deps=["root"])
        wf.add("join", _step("join", sleep=sleep), deps=middles)
        wf.add("tail", _step("tail"), deps=["join"])
        ids += [job.pk for job in insert_workflow(wf).values()]
    return ids


def test_chains_fan_out_and_fan_in_start_only_after_their_deps(clusters, executions):
    _node(clusters), _node(clusters)
    ids = _mixed_workflows(10, sleep=0.05)
    wait_until(lambda: _all_completed(ids), timeout=120, message="every step completed")
    _assert_no_step_started_before_its_deps_completed(ids, executions)
    done = Counter(row["job_id"] for row in executions("done"))
    assert sorted(done) == sorted(ids) and set(done.values()) == {1}


def test_a_thousand_step_fan_out_and_fan_in_completes(clusters, executions):
    _node(clusters, concurrency=4)
    wf = Workflow("wide").add("root", _step("root"))
    middles = [f"m{i}" for i in range(998)]
    for name in middles:
        wf.add(name, _step(name), deps=["root"])
    wf.add("sink", _step("sink"), deps=middles)
    jobs = insert_workflow(wf)
    ids = [job.pk for job in jobs.values()]
    wait_until(lambda: _all_completed(ids), timeout=240, message="the 1,000 steps completed")
    sink_start = [r["started"] for r in executions("start") if r["job_id"] == jobs["sink"].pk]
    last_middle = max(
        Job.objects.filter(pk__in=ids)
        .exclude(step__in=["root", "sink"])
        .values_list("completed_at", flat=True)
    )
    assert len(sink_start) == 1 and sink_start[0] >= last_middle


def test_a_step_in_a_paused_queue_holds_its_dependents_until_resumed(clusters, executions):
    pause_queue("email")
    _node(clusters)
    wf = (
        Workflow("paused middle")
        .add("a", _step("a"))
        .add("b", StepWorker.new({"step": "b"}, queue="email"), deps=["a"])
        .add("c", _step("c"), deps=["b"])
    )
    jobs = insert_workflow(wf)
    wait_until(lambda: Job.objects.get(pk=jobs["a"].pk).state == "completed", timeout=60)
    # The node keeps claiming (a later plain job runs) while b waits in its paused queue.
    probe = insert(_step("probe"))
    wait_until(lambda: Job.objects.get(pk=probe.pk).state == "completed", timeout=60)
    assert Job.objects.get(pk=jobs["b"].pk).state == "available"
    assert Job.objects.get(pk=jobs["c"].pk).state == "suspended"
    resume_queue("email")
    ids = [job.pk for job in jobs.values()]
    wait_until(lambda: _all_completed(ids), timeout=60, message="the workflow completed")
    _assert_no_step_started_before_its_deps_completed(ids, executions)


def test_sigkill_of_a_node_mid_workflow_releases_every_dependent_exactly_once(clusters, executions):
    ids = _mixed_workflows(25, sleep=0.3)
    doomed = _node(clusters, concurrency=4, **FAST_LIFELINE)
    wait_until(
        lambda: Job.objects.filter(pk__in=ids, state="completed").count() >= 40,
        timeout=120,
        message="some steps completed",
    )
    doomed.signal(signal.SIGKILL, group=True)  # the node and its workers, mid-transaction
    doomed.wait(10)
    assert Job.objects.filter(pk__in=ids, state="executing").exists(), "killed mid-step"
    assert Job.objects.filter(pk__in=ids, state="suspended").exists(), "killed mid-workflow"
    _node(clusters, concurrency=4, **FAST_LIFELINE)
    wait_until(lambda: _all_completed(ids), timeout=180, message="every step completed")
    done = Counter(row["job_id"] for row in executions("done"))
    assert sorted(done) == sorted(ids), "every step ran to completion"
    assert set(done.values()) == {1}, "and exactly once"
    assert not Job.objects.filter(pk__in=ids).exclude(deps_pending=0).exists()
    _assert_no_step_started_before_its_deps_completed(ids, executions)
    rescued = [
        job
        for job in Job.objects.filter(pk__in=ids).exclude(errors=[])
        if "stopped heartbeating" in job.errors[0]["error"]
    ]
    assert rescued, "steps the killed node held were rescued and ran again"
