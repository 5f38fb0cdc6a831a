"""The engine's Prometheus metrics (prometheus-client), recorded where attempts run.

Labels are bounded and never carry patient data: queue, worker (the worker's dotted path,
"unknown" for a row naming none), outcome, plugin, signal. Never args, meta or error text.

A node runs its attempts in forked worker processes, so a node whose JOBS_METRICS_PORT is set
switches prometheus-client to its multiprocess mode before the pool forks
(`enable_multiprocess`): each process writes its figures to a file of its own in a directory
of the node's, and the node's main process adds them up when scraped (node_exporter.py).
Elsewhere (drain_queue, inline mode, a process without a port) the figures stay in memory.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Histogram, values

# 1 ms to 5 min.
TIME_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip

EXECUTED = Counter(
    "jobs_executed",
    "Attempts finished, by how they left the job.",
    ["queue", "worker", "outcome"],
)
DURATION = Histogram(
    "jobs_duration_seconds",
    "How long perform() and recording the outcome took.",
    ["queue", "worker"],
    buckets=TIME_BUCKETS,
)
QUEUE_TIME = Histogram(
    "jobs_queue_time_seconds",
    "From the job's scheduled time to its attempt's start.",
    ["queue", "worker"],
    buckets=TIME_BUCKETS,
)
PLUGIN_RUNS = Counter(
    "jobs_plugin_runs",
    "Runs of the leader's plugins (stager, lifeline, pruner) and of cron slots.",
    ["plugin", "outcome"],
)
RECEIVER_ERRORS = Counter(
    "jobs_signal_receiver_errors",
    "Exceptions raised by receivers of the engine's signals (the engine carried on).",
    ["signal"],
)
_ALL = (EXECUTED, DURATION, QUEUE_TIME, PLUGIN_RUNS, RECEIVER_ERRORS)


# The labelled children of each (queue, worker, outcome), so an attempt pays no labels() call
# (a lock and validation each): bounded like the label values.
_children: dict[tuple[str, str, str], tuple] = {}


def attempt_finished(
    queue: str, worker: str, outcome: str, duration: float, queue_time: float
) -> None:
    key = (queue, worker, outcome)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (
            EXECUTED.labels(queue, worker, outcome),
            DURATION.labels(queue, worker),
            QUEUE_TIME.labels(queue, worker),
        )
    executed, duration_child, queue_time_child = children
    executed.inc()
    duration_child.observe(duration)
    queue_time_child.observe(queue_time)


def plugin_ran(plugin: str, ok: bool) -> None:
    PLUGIN_RUNS.labels(plugin, "ok" if ok else "error").inc()


def receiver_failed(signal_name: str) -> None:
    RECEIVER_ERRORS.labels(signal_name).inc()


def enable_multiprocess(directory: str) -> None:
    """From now on this process and the processes it forks write their figures to files in
    `directory` (prometheus-client's multiprocess mode). Figures recorded before are dropped:
    the node's main process runs no attempt before its pool starts."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values.ValueClass = values.MultiProcessValue()
    _children.clear()
    for metric in _ALL:
        with metric._lock:
            metric._metrics.clear()


def multiprocess_directory() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
