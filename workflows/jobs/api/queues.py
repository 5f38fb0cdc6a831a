"""Queue control at runtime: pause, resume, scale and inspect, persisted for every node."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from workflows.jobs import signals
from workflows.jobs.conf import jobs_settings
from workflows.jobs.models import Node, Queue
from workflows.jobs.policy.errors import JobValidationError, UnknownQueueError
from workflows.jobs.policy.limits import Partition, RateLimit, partition_from, rate_limit_from
from workflows.jobs.store import queues as store_queues

# The jobs_queue.limit column is a PostgreSQL integer; no node runs anywhere near this many.
MAX_QUEUE_LIMIT = 1_000_000


class _Keep:
    """scale_queue's default for rate_limit and partition: leave the current setting."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def _queue_or_error(name: str) -> Queue:
    """The queue's row; a queue defined in settings that has none yet (a fresh database
    before any node started) is created on first use."""
    queue = Queue.objects.filter(name=name).first()
    if queue is not None:
        return queue
    if isinstance(name, str) and name in jobs_settings().queues:
        sync_queues()
        return Queue.objects.get(name=name)
    defined = ", ".join(jobs_settings().queue_names)
    raise UnknownQueueError(
        f"unknown queue {name!r}: queues are defined in settings.JOBS['queues'] "
        f"(JOBS_QUEUES); defined: {defined}."
    )


def sync_queues() -> list[str]:
    """Create the queues defined in settings; a limit changed in settings replaces the
    runtime limit, an unchanged one keeps what scale_queue set. Runs after `migrate`, at each
    node's start and in `manage.py jobs sync`. Rows of queues no longer in settings are kept
    (their jobs with them) and shown as retired."""
    conf = jobs_settings()
    queues = {}
    for name, options in conf.queues.items():
        rate_limit = rate_limit_from(options.get("rate_limit"))
        partition = partition_from(options.get("partition"))
        queues[name] = {
            "limit": int(options.get("limit", 10)),
            "paused": bool(options.get("paused", False)),
            "rate_limit": rate_limit.as_json() if rate_limit else None,
            "partition": partition.as_json() if partition else None,
        }
    store_queues.sync(queues)
    return conf.queue_names


def is_retired(name: str) -> bool:
    """A queue with a row but no longer defined in settings: no node serves it."""
    return name not in jobs_settings().queues


def _changed(queue: Queue, action: str, limit: int, by: str | None) -> None:
    signals.send(signals.queue_changed, queue=queue.name, action=action, limit=limit, by=by)


def pause_queue(name: str, *, by: str | None = None) -> None:
    """Stop starting jobs of this queue on every node (within a second); running jobs finish.
    `by` (who asked) travels with the queue_changed signal."""
    queue = _queue_or_error(name)
    store_queues.set_paused(queue.name, True)
    _changed(queue, "pause", queue.limit, by)


def resume_queue(name: str, *, by: str | None = None) -> None:
    queue = _queue_or_error(name)
    store_queues.set_paused(queue.name, False)
    _changed(queue, "resume", queue.limit, by)


def check_queue_limit(limit: Any) -> int:
    """The limit if it is one a queue may have; otherwise the JobValidationError that the CLI,
    the admin and the dashboard all show."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_QUEUE_LIMIT:
        raise JobValidationError(
            f"a queue limit must be a whole number >= 1 and at most {MAX_QUEUE_LIMIT:,}; "
            f"got {limit!r}. To stop a queue, pause it."
        )
    return limit


def scale_queue(
    name: str,
    limit: int | None = None,
    *,
    rate_limit: RateLimit | None = KEEP,
    partition: Partition | None = KEEP,
    by: str | None = None,
) -> None:
    """Change the queue's cluster-wide limit, rate limit and partitioned limit; every node
    obeys within a second. What is not given is kept; rate_limit=None / partition=None remove
    them. Everything is validated before anything changes. `by` (who asked) travels with the
    queue_changed signal."""
    if limit is not None:
        check_queue_limit(limit)
    if rate_limit is not KEEP and not (rate_limit is None or isinstance(rate_limit, RateLimit)):
        raise JobValidationError(
            f"rate_limit must be a RateLimit(allowed=N, period_seconds=S) or None to remove "
            f"it; got {rate_limit!r}."
        )
    if partition is not KEEP and not (partition is None or isinstance(partition, Partition)):
        raise JobValidationError(
            f"partition must be a Partition(keys=[...], limit=N) or None to remove it; "
            f"got {partition!r}."
        )
    if limit is None and rate_limit is KEEP and partition is KEEP:
        raise JobValidationError(
            "scale_queue needs a limit, a rate_limit or a partition (None removes the last two)."
        )
    queue = _queue_or_error(name)
    if limit is not None:
        store_queues.set_limit(queue.name, limit)
    if rate_limit is not KEEP:
        store_queues.set_rate_limit(queue.name, rate_limit.as_json() if rate_limit else None)
    if partition is not KEEP:
        store_queues.set_partition(queue.name, partition.as_json() if partition else None)
    _changed(queue, "scale", limit if limit is not None else queue.limit, by)


def live_nodes() -> QuerySet[Node]:
    cutoff = timezone.now() - timedelta(seconds=jobs_settings().node_dead_after_seconds)
    return Node.objects.filter(heartbeat_at__gte=cutoff)


def queues_overview() -> list[dict[str, Any]]:
    """Every queue with its state and job counts (discarded included) in one query, and the
    use of its rate limit and partition (one more query for each queue that has them)."""
    counts = store_queues.counts_by_queue()
    rows = []
    for queue in Queue.objects.order_by("name"):
        queue_counts = counts.get(queue.name, {})
        rows.append(
            {
                "name": queue.name,
                "limit": queue.limit,
                "paused": queue.paused,
                "retired": is_retired(queue.name),
                "running": queue_counts.get("executing", 0),
                **limits_use(queue),
                **{
                    state: queue_counts.get(state, 0)
                    for state in ("available", "scheduled", "retryable", "discarded")
                },
            }
        )
    return rows


def limits_use(queue: Queue) -> dict[str, Any]:
    """The queue's rate limit and partition (or None) and how much of each is in use now:
    'rate_used' (starts in the current window), 'partitions_running', 'busiest' (most jobs
    running in one partition) and 'partitions_waiting'."""
    rate_limit = rate_limit_from(queue.rate_limit)
    partition = partition_from(queue.partition)
    report: dict[str, Any] = {"rate_limit": rate_limit, "partition": partition}
    if rate_limit is not None:
        report["rate_used"] = store_queues.window_use(queue.name, rate_limit.period_seconds)
    if partition is not None:
        report.update(store_queues.partition_use(queue.name, partition.as_json()))
    return report


def check_queue(name: str) -> dict[str, Any]:
    """The queue's limit and pause state, its job counts, the live nodes serving it, and its
    rate limit and partition with their current use (see limits_use)."""
    queue = _queue_or_error(name)
    counts = {"available": 0, "scheduled": 0, "executing": 0, "retryable": 0}
    counts.update(store_queues.counts(queue.name))
    nodes = sorted(node.name for node in live_nodes().filter(queues__contains=[name]))
    return {
        "name": queue.name,
        "limit": queue.limit,
        "paused": queue.paused,
        "running": counts["executing"],
        "available": counts["available"],
        "scheduled": counts["scheduled"],
        "retryable": counts["retryable"],
        "nodes": nodes,
        **limits_use(queue),
    }
