"""Audit entries for views of a job's raw args and meta (JOBS['args_view_auditor']) and for
the operator actions of the jobs dashboard (JOBS['action_auditor'])."""

from __future__ import annotations

from compliance.audit import audit_record
from compliance.models import AuditLog

JOB_ARGS_VIEWED = "job.view_args"
JOB_ACTION_PREFIX = "job."  # job.retry, job.cancel, job.delete, job.pause, job.resume, job.scale
QUEUE_ACTIONS = ("pause", "resume", "scale")
MAX_IDS_RECORDED = 1000


def job_args_view_record(*, user, job) -> AuditLog:
    """One entry per page view that showed the raw args: who, which job, which worker."""
    return audit_record(
        actor=user,
        action=JOB_ARGS_VIEWED,
        object_type="jobs.job",
        object_id=job.pk,
        details={"worker": job.worker, "queue": job.queue},
    )


def job_action_record(*, user, action: str, count: int, filter: str, ids: list[int]) -> AuditLog:
    """One entry per operator action of the jobs dashboard (retry, cancel, delete, pause,
    resume, scale; single or bulk): who, what, how many, which filter (args and meta values
    already masked by the dashboard) and the first ids."""
    return audit_record(
        actor=user,
        action=f"{JOB_ACTION_PREFIX}{action}",
        object_type="jobs.queue" if action in QUEUE_ACTIONS else "jobs.job",
        object_id=ids[0] if len(ids) == 1 else "",
        details={"count": count, "filter": filter, "ids": ids[:MAX_IDS_RECORDED]},
    )
