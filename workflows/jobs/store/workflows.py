"""Writing workflows: all steps and their edges in one statement, and cancelling or retrying
a workflow's steps. The release of dependents is not here: it is schema.sql's triggers, in
the statement that settles a step. Callers validate first (workflows.jobs.api.workflows)."""

from __future__ import annotations

from django.db import connection, transaction

from workflows.jobs.store import sql
from workflows.jobs.store.jobs import release_key_unless_held
from workflows.jobs.store.maintenance import notify_queues
from workflows.jobs.store.rows import decode_json

STEP_COLUMNS = (*sql.JOB_COLUMNS, "workflow_id", "step", "on_dep_failure", "deps_pending")
_STEP_RETURNING = ", ".join(f"i.{column}" for column in STEP_COLUMNS)
_JSON_COLUMNS = {"args", "meta", "errors"}

# The workflow row, its steps (unnest of one array per column, in topological order: ids
# follow it) and the edges, in one statement. A step with deps starts suspended, counting
# them. A unique conflict inserts no row for that step: the caller then rolls it all back.
INSERT_WORKFLOW = f"""
WITH wf AS (
  INSERT INTO jobs_workflow (name, inserted_at) VALUES (%(name)s, now()) RETURNING id
), s AS (
  SELECT * FROM unnest(%(steps)s::text[], %(queues)s::text[], %(workers)s::text[],
                       %(args)s::jsonb[], %(metas)s::jsonb[], %(tags)s::jsonb[],
                       %(max_attempts)s::int[], %(priorities)s::smallint[],
                       %(scheduled)s::timestamptz[], %(keys)s::text[], %(periods)s::float8[],
                       %(uniq_states)s::jsonb[], %(policies)s::text[], %(ndeps)s::int[])
         WITH ORDINALITY AS s(step, q, w, a, m, t, ma, p, at, k, up, us, pol, nd, i)
), i AS (
  INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                        priority, scheduled_at, inserted_at, uniq_key, uniq_window, uniq_states,
                        workflow_id, step, on_dep_failure, deps_pending)
  SELECT CASE WHEN s.nd > 0 THEN 'suspended'
              WHEN coalesce(s.at, now()) > now() THEN 'scheduled' ELSE 'available' END,
         s.q, s.w, s.a, s.m, ARRAY(SELECT jsonb_array_elements_text(s.t)), '[]'::jsonb, 0,
         s.ma, s.p, coalesce(s.at, now()), now(), s.k,
         CASE WHEN s.k IS NULL THEN NULL
              ELSE tstzrange(now(), now() + make_interval(secs => s.up)) END,
         CASE WHEN s.k IS NULL THEN 0
              ELSE (SELECT coalesce(bit_or(jobs_state_bit(u)), 0)
                      FROM jsonb_array_elements_text(s.us) u) END,
         wf.id, s.step, s.pol, s.nd
    FROM s, wf
   ORDER BY s.i
  ON CONFLICT DO NOTHING
  RETURNING *
), edges AS (
  INSERT INTO jobs_job_dep (job_id, dep_id)
  SELECT a.id, b.id
    FROM unnest(%(edge_steps)s::text[], %(edge_deps)s::text[]) AS e(step, dep)
    JOIN i a ON a.step = e.step JOIN i b ON b.step = e.dep
)
SELECT {_STEP_RETURNING} FROM i ORDER BY i.id
"""

WORKFLOW_STEPS = (
    f"SELECT {', '.join(STEP_COLUMNS)} FROM jobs_job WHERE workflow_id = %s ORDER BY id"
)

# Cancel every unfinished step (rows locked in id order, as the triggers lock them). The
# triggers then find no suspended dependent left to cascade to.
CANCEL_WORKFLOW = """
WITH doomed AS (
  SELECT id FROM jobs_job
   WHERE workflow_id = %(workflow)s
     AND state IN ('available', 'scheduled', 'retryable', 'executing', 'suspended')
   ORDER BY id FOR UPDATE
)
UPDATE jobs_job j SET state = 'cancelled', cancelled_at = now(),
       errors = j.errors || jsonb_build_array(jsonb_build_object(
         'attempt', j.attempt, 'at', now(), 'error', %(reason)s::text))
  FROM doomed WHERE j.id = doomed.id
RETURNING j.id
"""

# The steps that failed on their own (not by following a dep: their last error names no
# 'dep'), in id order, i.e. deps before dependents. Retrying them brings back, through the
# triggers, the dependents that followed them.
WORKFLOW_FAILED_ROOTS = """
SELECT id FROM jobs_job
 WHERE workflow_id = %s AND state IN ('discarded', 'cancelled')
   AND NOT coalesce((errors -> -1) ? 'dep', false)
 ORDER BY id
"""


class UniqueConflict(Exception):
    """Raised inside the insert's savepoint to roll back a workflow one of whose steps is a
    unique duplicate."""


def step_from_row(row):
    from workflows.jobs.models import Job

    values = [
        decode_json(value) if column in _JSON_COLUMNS else value
        for column, value in zip(STEP_COLUMNS, row, strict=True)
    ]
    job = Job.from_db("default", STEP_COLUMNS, values)
    job.conflict = False
    return job


def insert_workflow(name: str, params: dict, prepared: list[dict]) -> list | None:
    """Insert the workflow; its steps as saved Jobs in the given (topological) order, or None
    when a unique step conflicted (nothing inserted)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(INSERT_WORKFLOW, {"name": name, **params})
            rows = cursor.fetchall()
            if len(rows) < len(prepared):
                raise UniqueConflict
            jobs = [step_from_row(row) for row in rows]
            for job, p in zip(jobs, prepared, strict=True):
                job.unique_option = p["unique"]
                if p["uniq_key"]:
                    release_key_unless_held(cursor, job, p["uniq_states"])
            return jobs
    except UniqueConflict:
        return None


def find_conflicting(prepared: list[dict]):
    """(position in `prepared`, existing job) of the first unique step of a refused workflow
    that duplicates an existing job, or None."""
    from workflows.jobs.store.rows import job_from_row

    with connection.cursor() as cursor:
        for position, p in enumerate(prepared):
            if p["uniq_key"]:
                cursor.execute(sql.FIND_UNIQUE_CONFLICT, p)
                row = cursor.fetchone()
                if row:
                    return position, job_from_row(row)
    return None


def workflow_steps(workflow_id: int) -> list:
    with connection.cursor() as cursor:
        cursor.execute(WORKFLOW_STEPS, [workflow_id])
        return [step_from_row(row) for row in cursor.fetchall()]


def cancel_workflow(workflow_id: int, reason: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(CANCEL_WORKFLOW, {"workflow": workflow_id, "reason": reason})
        return len(cursor.fetchall())


def retry_workflow(workflow_id: int) -> int:
    """Retry the steps that failed on their own, one statement each in id order (a dep
    before its dependents); the triggers bring back the steps that followed them."""
    retried = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(WORKFLOW_FAILED_ROOTS, [workflow_id])
        for (job_id,) in cursor.fetchall():
            cursor.execute(sql.RETRY_JOBS, [[job_id]])
            rows = cursor.fetchall()
            notify_queues(cursor, [queue for _, queue in rows])
            retried += len(rows)
    return retried
