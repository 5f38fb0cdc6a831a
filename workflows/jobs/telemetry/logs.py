"""One log line per attempt that did not complete, on the `workflows.jobs.attempts` logger:

    job 123 EmailWorker (email) attempt 2/5 failed: SMTPServerDisconnected: ... ; retry in 17 s

WARNING for a failed attempt that will be retried, ERROR for a discard, INFO for a snooze or a
cancel, DEBUG for a completed one. The text is the attempt's stored error, already masked by
JOBS['error_scrubber']; args and meta are never written. The same facts travel as `extra`
fields (job_id, job_worker, job_queue, job_attempt, job_max_attempts, job_outcome, job_node,
job_duration_seconds, job_retry_in_seconds, job_error_type), so a JSON formatter emits them as
fields. The logger's level is settings.JOBS_LOG_LEVEL (LOGGING in healthcare_cms.settings).
"""

from __future__ import annotations

import logging

from workflows.jobs.policy.outcomes import AttemptResult

logger = logging.getLogger("workflows.jobs.attempts")

_LEVELS = {
    "completed": logging.DEBUG,
    "retryable": logging.WARNING,
    "discarded": logging.ERROR,
    "snoozed": logging.INFO,
    "cancelled": logging.INFO,
}


def error_summary(error: str) -> str:
    """The exception's line of a stored traceback (its last non-empty line)."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _short_worker(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def attempt_finished(job, node: str, result: AttemptResult, outcome: str, duration: float) -> None:
    level = _LEVELS[outcome]
    if not logger.isEnabledFor(level):
        return
    summary = error_summary(result.error)
    head = (
        f"job {job.pk} {_short_worker(job.worker)} ({job.queue}) "
        f"attempt {job.attempt}/{job.max_attempts}"
    )
    if outcome == "retryable":
        text = f"{head} failed: {summary} ; retry in {result.delay:.0f} s"
    elif outcome == "discarded":
        text = f"{head} discarded: {summary}"
    elif outcome == "snoozed":
        text = f"{head} snoozed for {result.delay:.0f} s"
    elif outcome == "cancelled":
        text = f"{head} cancelled" + (f": {summary}" if summary else "")
    else:
        text = f"{head} completed in {duration:.3f} s"
    error_type = summary.split(":", 1)[0] if summary and outcome != "completed" else None
    logger.log(
        level,
        text,
        extra={
            "job_id": job.pk,
            "job_worker": job.worker,
            "job_queue": job.queue,
            "job_attempt": job.attempt,
            "job_max_attempts": job.max_attempts,
            "job_outcome": outcome,
            "job_node": node,
            "job_duration_seconds": round(duration, 6),
            "job_retry_in_seconds": round(result.delay, 3) if outcome == "retryable" else None,
            "job_error_type": error_type,
        },
    )
