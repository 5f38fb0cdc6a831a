"""The bodies of a node's claiming process and worker processes inside django-q2's cluster.

django-q2's sentinel forks, watches and restarts the processes; what they run is the engine's:

- `push_claimed_tasks` replaces django-q2's pusher loop. That loop takes signed, pickled
  packages from its broker, verifies and unpickles each, and puts the task on the workers'
  queue. Signing is needed for packages that cross a broker (Redis, SQS); here the broker is
  the very process that built the task from its own claim, so signing it and checking the
  signature a moment later cost 0.14 ms per job for nothing. Tasks go on the queue as built.
- `run_packages` replaces django-q2's worker loop. That loop wraps every task in what the
  engine does not use: a log line and process title per task, django-q2's pre/post execute
  signals, its per-task timeout timer (the engine enforces each job's timeout itself:
  workflows.jobs.execution.interrupts and the supervisor's hard deadline) and a result sent
  through the result queue to the monitor, which then discards it (the jobs are settled on
  their rows). Here a worker runs each package and goes on; it keeps django-q2's contract
  with the sentinel: "STOP" ends it, `recycle` and `max_rss` end it with the timer at -2 so
  that the sentinel starts a fresh one, and the timer is -1 (idle) whenever the guard looks.

Both are installed by name into django_q.cluster, where the sentinel looks them up every
time it spawns (or re-spawns) one (`install`).
"""

from __future__ import annotations

import logging
import resource
import time

from django import db

logger = logging.getLogger("workflows.jobs")

BROKER_FAILURE_PAUSE_SECONDS = 10.0
IDLE = -1  # django-q2's timer values: idle, and "recycled: start a new worker"
RECYCLED = -2


def push_claimed_tasks(task_queue, event, broker=None) -> None:
    """The claiming process's body (django_q.cluster spawns it with these arguments)."""
    from django_q.conf import Conf

    if broker is None:
        from django_q.brokers import get_broker

        broker = get_broker()
    cluster_name = Conf.CLUSTER_NAME
    while not event.is_set():
        try:
            tasks = broker.dequeue_tasks()
        except Exception:
            logger.exception("claiming jobs failed unexpectedly; the claiming process restarts")
            time.sleep(BROKER_FAILURE_PAUSE_SECONDS)
            return
        for task in tasks or ():
            task["cluster"] = cluster_name
            task_queue.put(task)


def _rss_exceeded(max_rss_kb: int | None) -> bool:
    return bool(max_rss_kb) and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >= max_rss_kb


def run_packages(task_queue, result_queue, timer, timeout=None) -> None:
    """A worker process's body (django_q.cluster spawns it with these arguments). The task's
    function never raises (workflows.jobs.node.attempts settles every outcome); anything that
    escapes it ends the process, and the supervisor settles the job that was running."""
    from django_q.conf import Conf

    recycle_after = Conf.RECYCLE or 0
    max_rss_kb = Conf.MAX_RSS
    timer.value = IDLE
    for done, task in enumerate(iter(task_queue.get, "STOP"), start=1):
        db.close_old_connections()  # as django-q2 does before each task
        task["func"](*task["args"], **task["kwargs"])
        if (recycle_after and done >= recycle_after) or _rss_exceeded(max_rss_kb):
            timer.value = RECYCLED
            return


def install() -> None:
    """Make django-q2's sentinel spawn these loops as the pusher and the workers."""
    import django_q.cluster

    django_q.cluster.pusher = push_claimed_tasks
    django_q.cluster.worker = run_packages
