"""What the execution layer reports of each attempt: `started` before perform(), `finished`
once the outcome is committed, `failed_with` for an exception perform() raised.

One call each from workflows.jobs.execution.attempt. Each records the attempt's metrics,
writes its log line (logs.py), sends the signal (workflows.jobs.signals) and, for an
exception, its Sentry event (sentry.py). None of them ever raises into the attempt: a
telemetry problem is logged and the job's outcome stands.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

from workflows.jobs import signals
from workflows.jobs.policy.outcomes import AttemptResult, Outcome
from workflows.jobs.policy.registry import resolve_worker
from workflows.jobs.telemetry import logs, metrics

logger = logging.getLogger("workflows.jobs")
UNKNOWN_WORKER = "unknown"


@dataclass(frozen=True)
class Started:
    monotonic: float
    queue_time_seconds: float
    worker_class: type | None


def _queue_time(job) -> float:
    scheduled, attempted = job.scheduled_at, job.attempted_at
    if scheduled is None or attempted is None:
        return 0.0
    return max(0.0, (attempted - scheduled).total_seconds())


def outcome_name(result: AttemptResult) -> str | None:
    """job_finished's outcome: how the attempt left the job (None: it recorded nothing)."""
    if result.outcome is None:
        return None
    if result.discards:
        return "discarded"
    if result.outcome == Outcome.FAILED:
        return "retryable"
    return result.outcome.value


def _sentry():
    """The Sentry reporter, if the process uses Sentry (the product imported and initialized
    sentry_sdk); importing it also keeps the attempt log out of Sentry's logging integration.
    A process without Sentry never imports the SDK (nor its loggers)."""
    if "sentry_sdk" not in sys.modules:
        return None
    from workflows.jobs.telemetry import sentry

    return sentry


def started(job, node: str) -> Started:
    _sentry()
    began = Started(time.monotonic(), _queue_time(job), resolve_worker(job.worker))
    try:
        signals.send(
            signals.job_started,
            sender=began.worker_class,
            job=job,
            node=node,
            queue_time_seconds=began.queue_time_seconds,
        )
    except Exception as exc:  # pragma: no cover - send() already contains receivers
        logger.error("job_started could not be sent (%s)", type(exc).__name__)
    return began


def finished(job, node: str, result: AttemptResult, began: Started) -> None:
    outcome = outcome_name(result)
    if outcome is None:
        return
    duration = time.monotonic() - began.monotonic
    worker_label = job.worker if began.worker_class is not None else UNKNOWN_WORKER
    try:
        metrics.attempt_finished(
            job.queue, worker_label, outcome, duration, began.queue_time_seconds
        )
        logs.attempt_finished(job, node, result, outcome, duration)
        signals.send(
            signals.job_finished,
            sender=began.worker_class,
            job=job,
            node=node,
            outcome=outcome,
            duration_seconds=duration,
            queue_time_seconds=began.queue_time_seconds,
            error=result.error or None,
        )
    except Exception as exc:
        logger.error("telemetry of job %s failed (%s)", job.pk, type(exc).__name__)


def failed_with(exc: BaseException, job, node: str) -> None:
    """perform() raised (or timed out): one Sentry event for this attempt."""
    try:
        sentry = _sentry()
        if sentry is not None:
            sentry.capture_attempt_exception(exc, job, node)
    except Exception as problem:
        logger.error("job %s: Sentry capture failed (%s)", job.pk, type(problem).__name__)
