"""The engine's guarantees on the paths an adversary walks: signals sent to idle workers, a
cancel storm, a worker killed while idle, a frozen leader, outcomes that cannot be stored as
computed, connections left mid-query, claims revoked while they wait."""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest
from django.db import connection, transaction
from django.db.models import Count

from tests.support.polling import wait_until
from tests.support.warmup import worker_pids
from tests.support.workers import (
    HugeBackoffWorker,
    HugeSnoozeWorker,
    PoisonedErrorWorker,
    QueryWorker,
    RecordingWorker,
    ShortWorker,
    SlowQueryWorker,
)
from workflows.jobs import Job, cancel_job, insert_all
from workflows.jobs.models import Node

pytestmark = pytest.mark.cluster


def _descendants(cluster) -> dict[int, float]:
    """pid -> start time of every process of the node below its main process."""
    found = {}
    for process in psutil.Process(cluster.pid).children(recursive=True):
        try:
            found[process.pid] = process.create_time()
        except psutil.NoSuchProcess:
            continue
    return found


def test_a_cancel_storm_drains_completely_and_kills_no_worker(clusters, executions):
    """Thousands of short jobs, half of the running ones cancelled while they run: every job
    ends completed or cancelled, and not one process of the node died or was replaced."""
    node = clusters.start(concurrency=4).wait_ready()
    worker_pids(executions, 4)
    before = _descendants(node)
    jobs = insert_all(ShortWorker.new({"ms": 15}) for _ in range(3000))
    ids = [job.pk for job in jobs]
    cancelled_running = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = list(
            Job.objects.filter(pk__in=ids, state="executing").values_list("pk", flat=True)
        )
        for job_id in running[::2]:
            cancelled_running += cancel_job(job_id)
        if not Job.objects.filter(pk__in=ids, state__in=["available", "executing"]).exists():
            break
        time.sleep(0.01)
    states = dict(Job.objects.filter(pk__in=ids).values_list("state").annotate(n=Count("id")))
    sample = Job.objects.filter(pk__in=ids).exclude(state__in=["completed", "cancelled"]).first()
    assert set(states) <= {"completed", "cancelled"}, (states, sample and sample.errors)
    assert states.get("cancelled", 0) >= 200, "the storm cancelled hundreds of running jobs"
    assert sum(states.values()) == 3000
    assert cancelled_running >= 200
    assert node.process.poll() is None, "the node kept running"
    after = _descendants(node)
    assert {pid: at for pid, at in before.items() if pid in after} == before, (
        f"processes died or were replaced: before {sorted(before)}, after {sorted(after)}"
    )
    assert "died while running" not in node.output()


def test_sigusr1_and_sigalrm_to_every_idle_process_of_a_node_are_harmless(clusters, executions):
    node = clusters.start(concurrency=2).wait_ready()
    worker_pids(executions, 2)
    before = _descendants(node)
    for pid in before:
        os.kill(pid, signal.SIGUSR1)
        os.kill(pid, signal.SIGALRM)
    jobs = insert_all(RecordingWorker.new({"n": n}) for n in range(20))
    wait_until(
        lambda: Job.objects.filter(pk__in=[j.pk for j in jobs], state="completed").count() == 20,
        timeout=30,
        message="jobs inserted after the signals to complete",
    )
    assert _descendants(node) == before, "no process of the node died of the signals"


def test_sigkill_of_every_idle_worker_leaves_the_node_working_or_restarted(clusters, executions):
    """An idle worker blocks in the task queue's get() holding its read lock: killed there,
    the lock is never released and the replacement workers cannot take work. The node must
    notice (claims waiting, workers free, none taken), stop heartbeating and exit 75; its
    jobs are settled, and a restarted node runs them."""
    wedge_fast = {"JOBS_WEDGED_AFTER_SECONDS": "3"}
    node = clusters.start(concurrency=2, env=wedge_fast).wait_ready()
    for pid in worker_pids(executions, 2):
        os.kill(pid, signal.SIGKILL)
    jobs = insert_all(RecordingWorker.new({"n": n}) for n in range(10))
    ids = [job.pk for job in jobs]

    def settled_or_exited():
        done = Job.objects.filter(pk__in=ids, state="completed").count() == len(ids)
        return done or node.process.poll() is not None

    wait_until(settled_or_exited, timeout=60, message="the node to work on or to exit")
    if node.process.poll() is not None:
        assert node.process.returncode == 75, node.output()
        assert "is wedged" in node.output()
        assert not Job.objects.filter(pk__in=ids, state="executing").exists(), (
            "the wedged node settled its claims on the way out"
        )
        assert not Node.objects.filter(pid=node.pid).exists()
        clusters.start(concurrency=2, env=wedge_fast).wait_ready()
    wait_until(
        lambda: Job.objects.filter(pk__in=ids, state="completed").count() == len(ids),
        timeout=60,
        message="every job to complete (on the node, or on its replacement)",
    )
    done = [row["job_id"] for row in executions("done") if row["job_id"] in ids]
    assert sorted(done) == sorted(ids), "each job completed exactly once"


def test_a_stopped_leader_loses_its_lease_and_another_node_stages_and_rescues(clusters, executions):
    """SIGSTOP of the leader past the dead time: another node takes the lease, stages a job
    that fell due meanwhile and rescues the frozen leader's running job."""
    timing = {"JOBS_NODE_DEAD_AFTER_SECONDS": "6", "JOBS_LEADER_LEASE_SECONDS": "3"}
    leader = clusters.start(concurrency=1, queues="default", env=timing).wait_ready()
    wait_until(lambda: _lease_holder_pid() == leader.pid, timeout=20, message="a leader")
    follower = clusters.start(concurrency=1, queues="email", env=timing).wait_ready()
    stuck = RecordingWorker.enqueue({"sleep": 60})
    wait_until(lambda: executions("start"), timeout=30, message="the leader to run a job")

    leader.signal(signal.SIGSTOP, group=True)
    stopped_at = time.monotonic()
    try:
        due = ShortWorker.enqueue({"ms": 1}, queue="email", schedule_in=2)
        wait_until(
            lambda: Job.objects.get(pk=due.pk).state == "completed",
            timeout=6 + 2 + 10,
            message="the follower to stage and run the job that fell due",
        )
        wait_until(lambda: _lease_holder_pid() == follower.pid, timeout=5)
        wait_until(
            lambda: Job.objects.get(pk=stuck.pk).state == "available",
            timeout=6 + 5 + 10,
            message="the frozen leader's job to be rescued",
        )
        rescued_after = time.monotonic() - stopped_at
        assert rescued_after < 6 + 5 + 10
        stuck.refresh_from_db()
        assert "stopped heartbeating" in stuck.errors[-1]["error"]
    finally:
        leader.signal(signal.SIGCONT, group=True)
    # The leader comes back: it must not lead again while the follower holds the lease, and
    # the rescued job (its queue served by the old leader only) runs again there, once more.
    wait_until(lambda: Job.objects.get(pk=stuck.pk).state in ("executing", "completed"), timeout=30)
    assert _lease_holder_pid() == follower.pid


def _lease_holder_pid() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.pid FROM jobs_lease l JOIN jobs_node n ON n.name = l.holder "
            "WHERE l.name = 'leader' AND l.expires_at > now()"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def test_outcomes_that_cannot_be_stored_as_computed_still_consume_their_attempts(
    clusters, executions
):
    """A NUL or a lone surrogate in the error, a backoff of 2**61 s, a snooze of 2**61 s from
    a non-transactional worker: each attempt ends with a recorded outcome, none loops."""
    clusters.start(concurrency=2).wait_ready()
    poisoned = PoisonedErrorWorker.enqueue({})
    far_retry = HugeBackoffWorker.enqueue({})
    far_snooze = HugeSnoozeWorker.enqueue({})
    wait_until(
        lambda: Job.objects.get(pk=poisoned.pk).state == "discarded",
        timeout=30,
        message="the poisoned job to spend its two attempts",
    )
    wait_until(lambda: Job.objects.get(pk=far_retry.pk).state == "retryable", timeout=30)
    wait_until(lambda: Job.objects.get(pk=far_snooze.pk).state == "scheduled", timeout=30)
    poisoned.refresh_from_db()
    assert poisoned.attempt == 2 and len(poisoned.errors) == 2
    assert "\\x00" in poisoned.errors[0]["error"]
    far_retry.refresh_from_db()
    far_snooze.refresh_from_db()
    years = (far_retry.scheduled_at - far_retry.attempted_at).days / 365
    assert 9.9 < years < 10.1, "the backoff was clamped to 10 years"
    assert 9.9 < (far_snooze.scheduled_at - far_snooze.attempted_at).days / 365 < 10.1
    time.sleep(1.0)  # a looping job would show more starts by now
    starts = [row["job_id"] for row in executions("start")]
    assert starts.count(poisoned.pk) == 2
    assert starts.count(far_retry.pk) == 1
    assert starts.count(far_snooze.pk) == 1


@pytest.mark.parametrize("interruption", ["timeout", "cancel"])
def test_a_worker_interrupted_mid_query_gets_a_fresh_connection_for_its_next_job(
    clusters, executions, interruption
):
    """A timeout or cancel raised inside a database call leaves psycopg's connection busy; the
    next job on that worker process (max_attempts 1) must still succeed."""
    clusters.start(concurrency=1).wait_ready()
    slow = SlowQueryWorker.enqueue({"sleep": 30, "timeout": 1 if interruption == "timeout" else 60})
    wait_until(lambda: executions("start"), timeout=30, message="the slow query to start")
    if interruption == "cancel":
        time.sleep(0.3)  # inside pg_sleep
        assert cancel_job(slow.pk)
    follower = QueryWorker.enqueue({})
    wait_until(
        lambda: Job.objects.get(pk=follower.pk).state in ("completed", "discarded"),
        timeout=30,
        message="the next job on the same worker process to finish",
    )
    follower.refresh_from_db()
    assert follower.state == "completed", follower.errors
    slow.refresh_from_db()
    assert slow.state == ("discarded" if interruption == "timeout" else "cancelled")
    pids = {row["pid"] for row in executions("start")}
    assert len(pids) == 1, "both jobs ran in the same worker process"
    wait_until(
        lambda: not _running_queries("SELECT pg_sleep"),
        timeout=5,
        message="the interrupted statement to be cancelled on the server too",
    )


def _running_queries(prefix: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT query FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s "
            "AND pid <> pg_backend_pid()",
            [prefix + "%"],
        )
        return [row[0] for row in cursor.fetchall()]


def test_an_application_lock_on_a_prefetched_job_does_not_stop_the_heartbeat(clusters, executions):
    """Suspected: releasing stale prefetched jobs waited for row locks while holding the
    registry lock on the heartbeat's thread. Now the release skips a locked row: with an
    application transaction holding FOR UPDATE on a prefetched job for 10 s, the heartbeat
    goes on, and every job still completes exactly once."""
    node = clusters.start(concurrency=1, env={"JOBS_PREFETCH": "3"}).wait_ready()
    blocker = RecordingWorker.enqueue({"sleep": 9})
    wait_until(lambda: executions("start"), timeout=30, message="the blocker to start")
    waiting = insert_all(RecordingWorker.new({"n": n}) for n in range(3))
    wait_until(
        lambda: Job.objects.filter(pk__in=[j.pk for j in waiting], state="executing").count() == 3,
        timeout=10,
        message="the three jobs to be prefetched",
    )
    locked = threading.Event()
    release = threading.Event()

    def hold_lock():
        from workflows.jobs.store import database

        with database.connect(autocommit=False) as conn:
            conn.execute("SELECT 1 FROM jobs_job WHERE id = %s FOR UPDATE", [waiting[0].pk])
            locked.set()
            release.wait(20)
            conn.rollback()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        locked.wait(10)
        first = _heartbeat(node)
        wait_until(lambda: _heartbeat(node) > first, timeout=8, message="a heartbeat while locked")
        second = _heartbeat(node)
        wait_until(lambda: _heartbeat(node) > second, timeout=8, message="another heartbeat")
    finally:
        release.set()
        holder.join()
    ids = [blocker.pk, *(j.pk for j in waiting)]
    wait_until(
        lambda: Job.objects.filter(pk__in=ids, state="completed").count() == 4,
        timeout=60,
        message="every job to complete",
    )
    done = [row["job_id"] for row in executions("done")]
    assert sorted(done) == sorted(ids)


def _heartbeat(node):
    with connection.cursor() as cursor:
        cursor.execute("SELECT heartbeat_at FROM jobs_node WHERE pid = %s", [node.pid])
        row = cursor.fetchone()
    assert row, "the node is registered"
    return row[0]


def test_a_claimed_job_cancelled_before_it_starts_never_runs(clusters, executions):
    """Suspected: a prefetched job cancelled while it waited under 2 s still ran, outside its
    queue's limit. Now the node revokes the claim and no worker starts it."""
    clusters.start(concurrency=1, env={"JOBS_PREFETCH": "2"}).wait_ready()
    blocker = RecordingWorker.enqueue({"sleep": 2})
    wait_until(lambda: executions("start"), timeout=30, message="the blocker to start")
    victim = RecordingWorker.enqueue({"n": 1})
    wait_until(lambda: Job.objects.get(pk=victim.pk).state == "executing", timeout=5)
    with transaction.atomic():
        assert cancel_job(victim.pk)
    bystander = RecordingWorker.enqueue({"n": 2})
    wait_until(
        lambda: Job.objects.get(pk=bystander.pk).state == "completed",
        timeout=30,
        message="the job inserted after to complete",
    )
    started = [row["job_id"] for row in executions("start")]
    assert victim.pk not in started, "the cancelled claim never started"
    assert Job.objects.get(pk=victim.pk).state == "cancelled"
    assert Job.objects.get(pk=blocker.pk).state == "completed"
