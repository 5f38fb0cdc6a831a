"""Deferred completions (workflows.jobs.node.completions) and packages of claims: a completion
left in the node's ring is written exactly once whatever happens to the process that should
write it, and a package of several claims keeps every per-job guarantee."""

from __future__ import annotations

import os
import signal

import psutil
import pytest
from django.utils import timezone

from tests.support.polling import wait_until
from tests.support.warmup import worker_pids
from tests.support.workers import UnwrittenWorker
from workflows.jobs import Job, insert_all
from workflows.jobs.node.runtime import NodeRuntime, epoch_us
from workflows.jobs.runner.broker import pack


# --- the ring and the packing, in one process ---------------------------------------------------
def _runtime() -> NodeRuntime:
    return NodeRuntime(name="ring-node", queues=["default"], concurrency=2, prefetch=2)


def test_a_deferred_completion_leaves_the_running_table_and_stays_known_until_written():
    node = _runtime()
    at = epoch_us(timezone.now())
    node.registry.claimed([(7, 1, at)])
    node.registry.start(7, 1, at, 0, check_after_ms=2000)
    assert [entry.job_id for entry in node.registry.snapshot()] == [7]
    assert node.registry.defer_completion(7, 1, at)
    assert node.registry.snapshot() == [], "no moment where the job counts as running and done"
    assert node.registry.known_job_ids() == {7}, "the orphan sweep must not release it"
    waiting = node.registry.completions()
    assert [(done.job_id, done.attempt, done.attempted_at_us) for done in waiting] == [(7, 1, at)]
    node.registry.clear_completions(waiting)
    assert node.registry.completions() == [] and node.registry.known_job_ids() == set()


def test_a_full_ring_refuses_the_completion_so_the_worker_writes_it_itself():
    node = _runtime()
    at = epoch_us(timezone.now())
    slots = len(node.registry._done) // 3
    assert all(node.registry.defer_completion(job_id, 1, at) for job_id in range(1, slots + 1))
    assert not node.registry.defer_completion(slots + 1, 1, at)
    assert len(node.registry.completions()) == slots


def test_clearing_a_slot_reused_meanwhile_leaves_the_new_completion():
    node = _runtime()
    at = epoch_us(timezone.now())
    node.registry.defer_completion(1, 1, at)
    (written,) = node.registry.completions()
    node.registry.clear_completions([written])
    node.registry.defer_completion(2, 1, at)  # takes the freed slot
    node.registry.clear_completions([written])  # a stale second clear of the first one
    assert [done.job_id for done in node.registry.completions()] == [2]


def test_a_claim_is_dealt_round_robin_into_at_most_one_package_per_worker():
    jobs = [{"id": n} for n in range(1, 8)]
    packages = pack(jobs, 3)
    assert [[job["id"] for job in package] for package in packages] == [[1, 4, 7], [2, 5], [3, 6]]
    assert [job["id"] for job in pack(jobs[:2], 4)[0]] == [1], "fewer jobs than workers: one each"
    assert pack([], 4) == []


# --- a real node --------------------------------------------------------------------------------
def _sentinel_children(node, workers: set[int]) -> list[psutil.Process]:
    """The node's pusher and monitor: the sentinel's children that are not workers."""
    (sentinel,) = [child for child in psutil.Process(node.pid).children() if child.children()]
    return [child for child in sentinel.children() if child.pid not in workers]


def _started_on_every_worker(executions, *, ms: int) -> list[int]:
    """One job per worker, each started: every package has left the claiming process (its
    queue writes from a feeder thread, which a freeze would stop with a package unsent)."""
    jobs = insert_all(UnwrittenWorker.new({"ms": ms}) for _ in range(4))
    ids = [job.pk for job in jobs]
    wait_until(
        lambda: {row["job_id"] for row in executions("start")} >= set(ids),
        timeout=30,
        message="the four jobs to start, one on each worker",
    )
    return ids


def _finished(executions, ids: list[int]) -> bool:
    return {row["job_id"] for row in executions("finished")} >= set(ids)


def _assert_each_ran_once(executions, ids: list[int]) -> None:
    starts = sorted(row["job_id"] for row in executions("start") if row["job_id"] in ids)
    assert starts == sorted(ids), "each job performed exactly once"
    assert set(Job.objects.filter(pk__in=ids).values_list("state", "attempt")) == {("completed", 1)}


@pytest.mark.cluster
def test_completions_left_by_a_killed_claiming_process_are_written_by_its_replacement(
    clusters, executions
):
    """The claiming process is frozen (SIGSTOP) while its workers complete jobs that wrote
    nothing: the rows stay executing, their completions wait in the ring. Killed (SIGKILL),
    it is replaced by django-q2's sentinel, and the replacement writes them: every job
    completed, attempt 1, performed once; none released or rescued meanwhile."""
    node = clusters.start(concurrency=4).wait_ready()
    pusher_and_monitor = _sentinel_children(node, worker_pids(executions, 4))
    ids = _started_on_every_worker(executions, ms=500)
    for process in pusher_and_monitor:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: _finished(executions, ids), timeout=30, message="the performs")
        still_executing = Job.objects.filter(pk__in=ids, state="executing").count()
        assert still_executing > 0, "completions waited for the frozen claiming process"
    finally:
        for process in pusher_and_monitor:
            os.kill(process.pid, signal.SIGKILL)
    wait_until(
        lambda: Job.objects.filter(pk__in=ids, state="completed").count() == len(ids),
        timeout=30,
        message="the replacement claiming process to write the completions",
    )
    _assert_each_ran_once(executions, ids)
    assert node.process.poll() is None, "the node went on working"


@pytest.mark.cluster
def test_a_node_stopping_with_its_claiming_process_frozen_writes_the_waiting_completions(
    clusters, executions
):
    """SIGTERM while the claiming process is frozen: the pool cannot stop on its own, the node
    kills it after the grace period, and the main process writes the completions still in
    the ring before it releases unstarted claims, so no completed job is released and run
    again."""
    node = clusters.start(concurrency=4, env={"JOBS_SHUTDOWN_GRACE_SECONDS": "2"}).wait_ready()
    pusher_and_monitor = _sentinel_children(node, worker_pids(executions, 4))
    ids = _started_on_every_worker(executions, ms=500)
    for process in pusher_and_monitor:
        os.kill(process.pid, signal.SIGSTOP)
    wait_until(lambda: _finished(executions, ids), timeout=30, message="the performs")
    assert Job.objects.filter(pk__in=ids, state="executing").exists()
    node.terminate()
    assert node.wait(60) == 0, node.output()
    _assert_each_ran_once(executions, ids)
