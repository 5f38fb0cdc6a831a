"""Audit entries for views of a job's raw args and meta (JOBS['args_view_auditor'])."""

from __future__ import annotations

from compliance.audit import audit_record
from compliance.models import AuditLog

JOB_ARGS_VIEWED = "job.view_args"


def job_args_view_record(*, user, job) -> AuditLog:
    """One entry per page view that showed the raw args: who, which job, which worker."""
    return audit_record(
        actor=user,
        action=JOB_ARGS_VIEWED,
        object_type="jobs.job",
        object_id=job.pk,
        details={"worker": job.worker, "queue": job.queue},
    )
