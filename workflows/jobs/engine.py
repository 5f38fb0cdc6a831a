"""Inserting jobs and acting on them: insert, insert_all, retry_job, cancel_job.

Inserts run on Django's connection, so a job inserted inside transaction.atomic() exists if and
only if the transaction commits; idle nodes are woken by a NOTIFY delivered at that commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from django.db import connection, transaction

from workflows.jobs import sql, validation
from workflows.jobs.conf import jobs_settings
from workflows.jobs.maintenance import notify_queues
from workflows.jobs.rows import job_from_row
from workflows.jobs.states import STATE_BITS, states_mask
from workflows.jobs.unique import Unique, unique_key

INFINITE_PERIOD_SECONDS = 100 * 365 * 86400.0  # "no time limit": a window of a century


def _prepared(job) -> dict:
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
    mask = 0
    if option is not None:
        key = unique_key(option, worker=job.worker, queue=job.queue, args=job.args, meta=meta)
        period = float(option.period) if option.period is not None else INFINITE_PERIOD_SECONDS
        mask = states_mask(option.states)
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
        "uniq_states": mask,
        "unique": option,
    }


def _release_key_unless_held(cursor, job, mask: int) -> None:
    """A new job whose own state is not one of its unique states checks for duplicates but
    does not hold the key."""
    if job.uniq_key and not (mask & STATE_BITS[job.state]):
        cursor.execute(sql.RELEASE_UNIQ_KEY, [job.pk])
        job.uniq_key = None
        job.uniq_window = None


def _apply_replace(cursor, existing, params: dict, option: Unique):
    fields = (option.replace or {}).get(existing.state)
    if not fields:
        return existing
    values = {
        "args": ("args = %s::jsonb", params["args"]),
        "meta": ("meta = %s::jsonb", params["meta"]),
        "max_attempts": ("max_attempts = %s", params["max_attempts"]),
        "priority": ("priority = %s", params["priority"]),
        "tags": ("tags = %s::text[]", params["tags"]),
    }
    assignments, arguments = [], []
    for name in fields:
        if name == "scheduled_at":
            assignments.append("scheduled_at = coalesce(%s::timestamptz, now())")
            arguments.append(params["scheduled_at"])
            assignments.append(
                "state = CASE WHEN state IN ('scheduled', 'available') THEN "
                "(CASE WHEN coalesce(%s::timestamptz, now()) > now() THEN 'scheduled' "
                "ELSE 'available' END) ELSE state END"
            )
            arguments.append(params["scheduled_at"])
        else:
            assignment, value = values[name]
            assignments.append(assignment)
            arguments.append(value)
    cursor.execute(
        f"UPDATE jobs_job SET {', '.join(assignments)} WHERE id = %s RETURNING {sql.RETURNING}",
        [*arguments, existing.pk],
    )
    return job_from_row(cursor.fetchone())


def _insert_one(cursor, params: dict):
    statement = sql.INSERT_ONE.format(
        on_conflict="ON CONFLICT DO NOTHING" if params["uniq_key"] else ""
    )
    cursor.execute(statement, params)
    row = cursor.fetchone()
    return job_from_row(row) if row else None


def _resolve_conflict(cursor, params: dict):
    """The insert hit a unique conflict: return the existing job (replaced where asked), or
    insert after all when the conflicting job left its unique states in the meantime."""
    option: Unique = params["unique"]
    for _ in range(5):
        cursor.execute(sql.FIND_UNIQUE_CONFLICT, params)
        row = cursor.fetchone()
        if row:
            existing = _apply_replace(cursor, job_from_row(row), params, option)
            existing.conflict = True
            return existing
        inserted = _insert_one(cursor, params)
        if inserted is not None:
            return inserted
    raise RuntimeError("unique insert kept conflicting with a job that then disappeared")


def insert(job):
    """Insert one job (from Worker.new) in the caller's transaction; return the saved Job.

    For a unique job that duplicates an existing one, nothing is inserted and the existing
    job is returned with `conflict = True`.
    """
    params = _prepared(job)
    with connection.cursor() as cursor:
        saved = _insert_one(cursor, params)
        if saved is None:
            with transaction.atomic():
                saved = _resolve_conflict(cursor, params)
        if not saved.conflict:
            _release_key_unless_held(cursor, saved, params["uniq_states"])
    saved.unique_option = params["unique"]
    from workflows.jobs.testing import run_inline_if_enabled

    return run_inline_if_enabled(saved)


def _copy_batch(raw_cursor, prepared: list[dict]) -> None:
    """Stream the batch into the session's staging table with COPY: the fastest way in."""
    raw_cursor.execute(sql.BATCH_TABLE)
    with raw_cursor.copy(sql.BATCH_COPY) as copy:
        for index, p in enumerate(prepared):
            copy.write_row(
                (
                    index,
                    p["queue"],
                    p["worker"],
                    p["args"],
                    p["meta"],
                    p["tags"],
                    p["max_attempts"],
                    p["priority"],
                    p["scheduled_at"],
                    p["uniq_key"],
                    p["uniq_period"],
                    p["uniq_states"],
                )
            )


def _saved_in_place(job, params: dict, row) -> object:
    """The input Job, now saved: insert_all returns the objects it was given, like
    bulk_create, so it builds no second object per job."""
    job.pk, job.state, job.uniq_key, job.uniq_window, scheduled, inserted = row
    job.scheduled_at = datetime.fromtimestamp(scheduled, UTC)
    job.inserted_at = datetime.fromtimestamp(inserted, UTC)
    job.attempt, job.errors, job.tags = 0, [], params["tags"]
    job.meta = {} if job.meta is None else job.meta
    job.uniq_states = params["uniq_states"]
    job.unique_option = params["unique"]
    job.conflict = False
    job._state.adding = False
    job._state.db = "default"
    return job


def insert_all(jobs: Iterable) -> list:
    """Insert many jobs in one statement; uniqueness is honoured job by job.

    Returns the jobs in input order: the given Job objects, saved, and for a duplicate the
    existing job with conflict=True. Nothing is inserted if any job is invalid. The rows are
    streamed with COPY into a per-session staging table, then inserted in one statement.
    """
    jobs = list(jobs)
    prepared = [_prepared(job) for job in jobs]
    if not prepared:
        return []
    # Atomic: the staging table empties at commit, and a failure must leave nothing behind.
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor on the same connection, for COPY
        _copy_batch(raw, prepared)
        raw.execute(sql.INSERT_MANY)
        inserted = raw.fetchall()
        results = []
        position = 0
        for job, params in zip(jobs, prepared, strict=True):
            row = inserted[position] if position < len(inserted) else None
            key = params["uniq_key"]
            is_mine = row is not None and (key is None or row[2] == key)
            if is_mine:
                position += 1
                saved = _saved_in_place(job, params, row)
                if key:
                    _release_key_unless_held(cursor, saved, params["uniq_states"])
                results.append(saved)
            else:
                with transaction.atomic():
                    results.append(_resolve_conflict(cursor, params))
    from workflows.jobs.testing import run_inline_if_enabled

    return [run_inline_if_enabled(job) for job in results]


def retry_jobs(job_ids: Sequence[int]) -> int:
    """Put jobs back to available now (raising max_attempts if spent); skips available and
    executing jobs. Returns how many were retried."""
    ids = validation.check_job_ids(job_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql.RETRY_JOBS, [ids])
        rows = cursor.fetchall()
        notify_queues(cursor, [queue for _, queue in rows])
    return len(rows)


def cancel_jobs(job_ids: Sequence[int]) -> int:
    """Cancel jobs that have not finished. A running job is told to stop by its node."""
    ids = validation.check_job_ids(job_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql.CANCEL_JOBS, [ids])
        return len(cursor.fetchall())


def retry_job(job_id: int) -> bool:
    """Put a discarded, cancelled, completed (or waiting) job back to available."""
    return retry_jobs(validation.check_job_ids([job_id])) == 1


def cancel_job(job_id: int) -> bool:
    """Cancel a job that has not completed. Returns False when it had already finished."""
    return cancel_jobs(validation.check_job_ids([job_id])) == 1
