"""Writing jobs: the insert statements, unique conflicts and their replace option, COPY for
batches, retry and cancel. Callers validate first (workflows.jobs.api.jobs)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection, transaction

from workflows.jobs.policy.unique import Unique
from workflows.jobs.store import sql
from workflows.jobs.store.maintenance import notify_queues
from workflows.jobs.store.rows import job_from_row


def release_key_unless_held(cursor, job, states: list[str]) -> None:
    """A new job whose own state is not one of its unique states checks for duplicates but
    does not hold the key."""
    if job.uniq_key and job.state not in states:
        cursor.execute(sql.RELEASE_UNIQ_KEY, [job.pk])
        job.uniq_key = None
        job.uniq_window = None


def apply_replace(cursor, existing, params: dict, option: Unique):
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


def insert_one(cursor, params: dict):
    statement = sql.INSERT_ONE.format(
        on_conflict="ON CONFLICT DO NOTHING" if params["uniq_key"] else ""
    )
    cursor.execute(statement, params)
    row = cursor.fetchone()
    return job_from_row(row) if row else None


def resolve_conflict(cursor, params: dict):
    """The insert hit a unique conflict: return the existing job (replaced where asked), or
    insert after all when the conflicting job left its unique states in the meantime."""
    option: Unique = params["unique"]
    for _ in range(5):
        cursor.execute(sql.FIND_UNIQUE_CONFLICT, params)
        row = cursor.fetchone()
        if row:
            existing = apply_replace(cursor, job_from_row(row), params, option)
            existing.conflict = True
            return existing
        inserted = insert_one(cursor, params)
        if inserted is not None:
            return inserted
    raise RuntimeError("unique insert kept conflicting with a job that then disappeared")


def copy_batch(raw_cursor, prepared: list[dict]) -> None:
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


def saved_in_place(job, params: dict, row) -> object:
    """The input Job, now saved: insert_all returns the objects it was given, like
    bulk_create, so it builds no second object per job."""
    job.pk, job.state, job.uniq_key, job.uniq_window, scheduled, inserted, job.uniq_states = row
    job.scheduled_at = datetime.fromtimestamp(scheduled, UTC)
    job.inserted_at = datetime.fromtimestamp(inserted, UTC)
    job.attempt, job.errors, job.tags = 0, [], params["tags"]
    job.meta = {} if job.meta is None else job.meta
    job.unique_option = params["unique"]
    job.conflict = False
    job._state.adding = False
    job._state.db = "default"
    return job


def insert_job(params: dict):
    """Insert one job on Django's connection (the caller's transaction); a unique duplicate
    returns the existing job with conflict=True."""
    with connection.cursor() as cursor:
        saved = insert_one(cursor, params)
        if saved is None:
            with transaction.atomic():
                saved = resolve_conflict(cursor, params)
        if not saved.conflict:
            release_key_unless_held(cursor, saved, params["uniq_states"])
    return saved


def insert_jobs(jobs: list, prepared: list[dict]) -> list:
    """Insert many jobs in one statement, streamed with COPY into a per-session staging table;
    uniqueness honoured job by job. Returns the given Job objects, saved, in input order, and
    for a duplicate the existing job with conflict=True."""
    # Atomic: the staging table empties at commit, and a failure must leave nothing behind.
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor on the same connection, for COPY
        copy_batch(raw, prepared)
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
                saved = saved_in_place(job, params, row)
                if key:
                    release_key_unless_held(cursor, saved, params["uniq_states"])
                results.append(saved)
            else:
                with transaction.atomic():
                    results.append(resolve_conflict(cursor, params))
    return results


def retry_jobs(job_ids: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.RETRY_JOBS, [job_ids])
        rows = cursor.fetchall()
        notify_queues(cursor, [queue for _, queue in rows])
    return len(rows)


def cancel_jobs(job_ids: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.CANCEL_JOBS, [job_ids])
        return len(cursor.fetchall())


def delete_jobs(job_ids: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.DELETE_JOBS, [job_ids])
        return len(cursor.fetchall())
