"""Inserting jobs and acting on them: insert, insert_all, retry_job, cancel_job, delete_jobs.

Inserts run on Django's connection, so a job inserted inside transaction.atomic() exists if and
only if the transaction commits; idle nodes are woken by a NOTIFY delivered at that commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from workflows.jobs.conf import jobs_settings
from workflows.jobs.execution import strategies
from workflows.jobs.policy import validation
from workflows.jobs.policy.unique import Unique, unique_key
from workflows.jobs.store import jobs as store_jobs

if TYPE_CHECKING:
    from workflows.jobs.models import Job

INFINITE_PERIOD_SECONDS = 100 * 365 * 86400.0  # "no time limit": a window of a century


def _prepared(job: Job) -> dict:
    """Validate a Job built by Worker.new() (or by hand) and give its insert parameters.

    Args and meta validated by Worker.new() are only re-checked if they changed since."""
    conf = jobs_settings()
    validation.check_worker_path(job.worker)
    args_validated, meta_validated = getattr(job, "validated_json", (None, None))
    meta = {} if job.meta is None else job.meta
    args_json = validation.checked_json_text(
        job.args, "args", validated=args_validated, max_bytes=conf.max_args_bytes
    )
    meta_json = validation.checked_json_text(
        meta, "meta", validated=meta_validated, max_bytes=conf.max_args_bytes
    )
    validation.check_queue(job.queue)
    validation.check_priority(job.priority)
    validation.check_max_attempts(job.max_attempts)
    tags = validation.check_tags(job.tags or [])
    scheduled_at = job.scheduled_at
    if scheduled_at is not None:
        validation.check_schedule(scheduled_at, None, scheduled_at)
    option: Unique | None = validation.check_unique(getattr(job, "unique_option", None))
    key = None
    period = None
    states: list[str] = []
    if option is not None:
        key = unique_key(option, worker=job.worker, queue=job.queue, args=job.args, meta=meta)
        period = float(option.period) if option.period is not None else INFINITE_PERIOD_SECONDS
        states = list(option.states)
    return {
        "queue": job.queue,
        "worker": job.worker,
        "args": args_json,
        "meta": meta_json,
        "tags": tags,
        "max_attempts": job.max_attempts,
        "priority": job.priority,
        "scheduled_at": scheduled_at,
        "uniq_key": key,
        "uniq_period": period,
        "uniq_states": states,
        "unique": option,
    }


def insert(job: Job) -> Job:
    """Insert one job (from Worker.new) in the caller's transaction; return the saved Job.

    For a unique job that duplicates an existing one, nothing is inserted and the existing
    job is returned with `conflict = True`.
    """
    params = _prepared(job)
    saved = store_jobs.insert_job(params)
    saved.unique_option = params["unique"]
    return strategies.after_insert(saved)


def insert_all(jobs: Iterable[Job]) -> list[Job]:
    """Insert many jobs in one statement; uniqueness is honoured job by job.

    Returns the jobs in input order: the given Job objects, saved, and for a duplicate the
    existing job with conflict=True. Nothing is inserted if any job is invalid. The rows are
    streamed with COPY into a per-session staging table, then inserted in one statement.
    """
    jobs = list(jobs)
    prepared = [_prepared(job) for job in jobs]
    if not prepared:
        return []
    return [strategies.after_insert(job) for job in store_jobs.insert_jobs(jobs, prepared)]


def retry_jobs(job_ids: Sequence[int]) -> int:
    """Put jobs back to available now (raising max_attempts if spent); skips available and
    executing jobs. Returns how many were retried."""
    return store_jobs.retry_jobs(validation.check_job_ids(job_ids))


def cancel_jobs(job_ids: Sequence[int]) -> int:
    """Cancel jobs that have not finished. A running job is told to stop by its node."""
    return store_jobs.cancel_jobs(validation.check_job_ids(job_ids))


def delete_jobs(job_ids: Sequence[int]) -> int:
    """Delete jobs that are not executing (cancel a running one first). Returns how many."""
    return store_jobs.delete_jobs(validation.check_job_ids(job_ids))


def retry_job(job_id: int) -> bool:
    """Put a discarded, cancelled, completed (or waiting) job back to available."""
    return retry_jobs(validation.check_job_ids([job_id])) == 1


def cancel_job(job_id: int) -> bool:
    """Cancel a job that has not completed. Returns False when it had already finished."""
    return cancel_jobs(validation.check_job_ids([job_id])) == 1
