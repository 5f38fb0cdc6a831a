"""The engine's telemetry, as Django signals (Oban's `[:oban, :job, :start | :stop |
:exception]`, queue and plugin events). docs/observability.md walks through each one.

    from django.dispatch import receiver
    from workflows.jobs.signals import job_finished

    @receiver(job_finished)
    def count_failures(sender, job, node, outcome, duration_seconds, queue_time_seconds,
                       error, **kwargs):
        ...

Every attempt sends them, wherever it runs: a qcluster worker process, `drain_queue`, the
inline testing mode. `job_finished` is sent after the outcome is committed.

Receivers get the Job itself: its args and meta may hold patient data, so a receiver must
never log, label or forward them. `error` is the attempt's error text with patient data
already masked (None when the attempt did not fail).

A receiver that raises never changes a job's outcome: the exception is logged (its type only)
and counted in `jobs_signal_receiver_errors_total{signal}`; the other receivers still run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("workflows.jobs.signals")

# sender: the Worker class (None for a job whose worker is not registered);
# job, node, queue_time_seconds (from the job's scheduled time to the attempt's start).
job_started = Signal()
# sender: the Worker class; job, node, outcome (one of OUTCOMES), duration_seconds,
# queue_time_seconds, error (masked text or None).
job_finished = Signal()
# sender: None; queue, action ("pause" | "resume" | "scale"), limit (the new limit, or the
# queue's limit), by (who asked: a user name, "command", or None).
queue_changed = Signal()
# sender: None; plugin ("stager" | "lifeline" | "pruner" | "cron"), duration_seconds,
# counts (what it did, by name), error (the exception's type name, or None).
plugin_ran = Signal()

# job_finished's outcome: how the attempt left the job (Oban's state metadata).
OUTCOMES = ("completed", "retryable", "discarded", "cancelled", "snoozed")
QUEUE_ACTIONS = ("pause", "resume", "scale")
PLUGINS = ("stager", "lifeline", "pruner", "cron")

_NAMES = {
    id(job_started): "job_started",
    id(job_finished): "job_finished",
    id(queue_changed): "queue_changed",
    id(plugin_ran): "plugin_ran",
}


def send(signal: Signal, sender: Any = None, **kwargs: Any) -> None:
    """Send one of the engine's signals; a receiver's exception is logged and counted, never
    raised to the engine."""
    if not signal.receivers:
        return
    for receiver, result in signal.send_robust(sender, **kwargs):
        if isinstance(result, Exception):
            name = _NAMES.get(id(signal), "signal")
            from workflows.jobs.telemetry import metrics

            metrics.receiver_failed(name)
            logger.error(
                "a receiver of %s (%s) raised %s; the engine carried on",
                name,
                getattr(receiver, "__qualname__", type(receiver).__name__),
                type(result).__name__,
            )
