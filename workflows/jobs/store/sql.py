"""Every statement the engine runs, named once, with psycopg-style %s / %(name)s parameters.
Only the store package executes them. The functions and triggers are in schema.sql."""

from __future__ import annotations

import itertools
from pathlib import Path

NOTIFY_CHANNEL = "jobs_available"
# Namespace of the engine's advisory locks (first int of the two-int form).
LOCK_NAMESPACE = 7021
CRON_SYNC_LOCK_KEY = 2

# The functions and triggers (jobs_claim, jobs_claim_ids, jobs_stage, jobs_rescue, the unique
# key and notification triggers) are in schema.sql beside this file; migrations install
# frozen copies of it. NOTIFY_CHANNEL and LOCK_NAMESPACE above are the values it uses.
SCHEMA_PATH = Path(__file__).with_name("schema.sql")


def schema_source() -> str:
    return SCHEMA_PATH.read_text()


# --- Insert ----------------------------------------------------------------------------------
JOB_COLUMNS = (
    "id",
    "state",
    "queue",
    "worker",
    "args",
    "meta",
    "tags",
    "errors",
    "attempt",
    "max_attempts",
    "priority",
    "scheduled_at",
    "attempted_at",
    "attempted_by",
    "completed_at",
    "discarded_at",
    "cancelled_at",
    "inserted_at",
    "uniq_key",
    "uniq_window",
    "uniq_states",
    "last_outcome",
    "result",
)
RETURNING = ", ".join(JOB_COLUMNS)

INSERT_ONE = f"""
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, inserted_at, uniq_key, uniq_window, uniq_states)
SELECT CASE WHEN s.at > now() THEN 'scheduled' ELSE 'available' END,
       %(queue)s, %(worker)s, %(args)s::jsonb, %(meta)s::jsonb, %(tags)s::text[], '[]'::jsonb, 0,
       %(max_attempts)s, %(priority)s, s.at, now(), %(uniq_key)s,
       CASE WHEN %(uniq_key)s::text IS NULL THEN NULL
            ELSE tstzrange(now(), now() + make_interval(secs => %(uniq_period)s::float8)) END,
       (SELECT coalesce(bit_or(jobs_state_bit(u)), 0)::smallint
          FROM unnest(%(uniq_states)s::text[]) u)
  FROM (SELECT coalesce(%(scheduled_at)s::timestamptz, now()) AS at) s
{{on_conflict}}
RETURNING {RETURNING}
"""

# insert_all: COPY into a staging table of the session (emptied before use and at commit),
# then one INSERT ... SELECT. Only what the caller does not know comes back.
BATCH_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS jobs_insert_batch (
  i int, q text, w text, a jsonb, m jsonb, t text[], ma int, p smallint, at timestamptz,
  k text, up float8, us text[]
) ON COMMIT DELETE ROWS;
TRUNCATE jobs_insert_batch;
"""
BATCH_COPY = "COPY jobs_insert_batch FROM STDIN"

INSERT_MANY = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, inserted_at, uniq_key, uniq_window, uniq_states)
SELECT CASE WHEN coalesce(r.at, now()) > now() THEN 'scheduled' ELSE 'available' END,
       r.q, r.w, r.a, r.m, r.t, '[]'::jsonb, 0, r.ma, r.p, coalesce(r.at, now()), now(), r.k,
       CASE WHEN r.k IS NULL THEN NULL
            ELSE tstzrange(now(), now() + make_interval(secs => r.up)) END,
       CASE WHEN r.k IS NULL THEN 0
            ELSE (SELECT coalesce(bit_or(jobs_state_bit(u)), 0) FROM unnest(r.us) u) END
  FROM jobs_insert_batch r
 ORDER BY r.i
ON CONFLICT DO NOTHING
RETURNING id, state, uniq_key, uniq_window, extract(epoch FROM scheduled_at)::float8,
          extract(epoch FROM inserted_at)::float8, uniq_states
"""

FIND_UNIQUE_CONFLICT = f"""
SELECT {RETURNING} FROM jobs_job
 WHERE uniq_key = %(uniq_key)s
   AND uniq_window && tstzrange(now(), now() + make_interval(secs => %(uniq_period)s::float8))
 ORDER BY id LIMIT 1 FOR UPDATE
"""

RELEASE_UNIQ_KEY = "UPDATE jobs_job SET uniq_key = NULL, uniq_window = NULL WHERE id = %s"

# --- Claim, execution outcomes -----------------------------------------------------------------
CLAIM = "SELECT jobs_claim(%s, %s, %s::text[], %s)"
PING = "SELECT 1"
COUNT_IN_STATE = "SELECT count(*) FROM jobs_job WHERE state = %s"

CLAIM_ONE_FOR_DRAIN = f"""
SELECT {RETURNING} FROM jobs_claim_ids(ARRAY(
  SELECT id FROM jobs_job WHERE state = 'available' AND queue = %(queue)s
   ORDER BY priority, scheduled_at, id LIMIT 1 FOR UPDATE SKIP LOCKED), %(node)s)
"""

CLAIM_BY_ID = f"""
SELECT {RETURNING} FROM jobs_claim_ids(ARRAY(
  SELECT id FROM jobs_job WHERE id = %(id)s AND state IN ('available', 'scheduled')
   FOR UPDATE), %(node)s)
"""

# An attempt is identified by its claim: node and claim time, so a job released and claimed
# again is never settled by the stale copy of an earlier claim.
_OWNED = (
    "id = %(id)s AND state = 'executing' AND attempt = %(attempt)s AND attempted_by[1] = %(node)s "
    "AND attempted_at = %(attempted_at)s"
)

# Outcome writes name their commit mode (%(commit)s, 'on' or 'off'). An outcome committed on
# its own (perform wrote nothing to the database) is written with synchronous_commit off: a
# server crash in the next few hundred milliseconds can lose it, and the job then runs again,
# as for any crash. An outcome committed with perform's own writes keeps the server's setting.
_COMMIT_MODE = "(SELECT set_config('synchronous_commit', %(commit)s, true)) AS commit_mode"


def _outcome(assignments: str) -> str:
    return (
        f"UPDATE jobs_job SET {assignments}, last_outcome = %(outcome)s "
        f"FROM {_COMMIT_MODE} WHERE {_OWNED}"
    )


COMPLETE = _outcome("state = 'completed', completed_at = now()")

# The plain completions of many attempts of one node, in one statement (the node's claiming
# process writes them from its completion ring before it claims again). Each row keeps the
# guard of a single completion; the attempts are sent in id order (one lock order for all).
# The rows are found by id: the node is compared as `attempted_by[1] || ''`, which no index
# matches, so no plan can walk jobs_job_node_id (every job the node ever ran) instead.
COMPLETE_MANY = """
UPDATE jobs_job AS j
   SET state = 'completed', completed_at = now(), last_outcome = 'completed'
  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS commit_mode,
       unnest(%(ids)s::bigint[], %(attempts)s::int[], %(attempted_at)s::timestamptz[])
           AS done(id, attempt, attempted_at)
 WHERE j.id = done.id AND j.state = 'executing' AND j.attempt = done.attempt
   AND j.attempted_by[1] || '' = %(node)s AND j.attempted_at = done.attempted_at
RETURNING j.id
"""

# A worker with `record = True`: what perform returned, validated JSON (the execution layer's
# recorded_return_value), is stored with the completion.
COMPLETE_RECORDING_RESULT = _outcome(
    "state = 'completed', completed_at = now(), result = %(result)s::jsonb"
)

RETRY_LATER = _outcome("""state = 'retryable',
       scheduled_at = now() + make_interval(secs => %(delay)s::float8),
       errors = errors || %(error)s::jsonb""")

DISCARD = _outcome("state = 'discarded', discarded_at = now(), errors = errors || %(error)s::jsonb")

CANCEL_FROM_WORKER = _outcome(
    "state = 'cancelled', cancelled_at = now(), errors = errors || %(error)s::jsonb"
)

SNOOZE = _outcome("""state = 'scheduled',
       scheduled_at = now() + make_interval(secs => %(delay)s::float8),
       attempt = greatest(attempt - 1, 0),
       meta = jsonb_set(meta, '{snoozed}', to_jsonb(coalesce((meta->>'snoozed')::int, 0) + 1))""")

# A claimed job that never started (node stopping, queue paused, waited too long in the
# prefetch buffer) goes back as it was: the attempt is not counted.
RELEASE_UNSTARTED = f"""
UPDATE jobs_job SET state = 'available', attempt = greatest(attempt - 1, 0),
       attempted_at = NULL, attempted_by = NULL
 WHERE {_OWNED}
RETURNING queue
"""

IS_STILL_OWNED = f"SELECT 1 FROM jobs_job WHERE {_OWNED}"

ATTEMPT_CLAIMED_AT = """
SELECT attempted_at FROM jobs_job
 WHERE id = %s AND state = 'executing' AND attempt = %s AND attempted_by[1] = %s
"""

# An attempt that was interrupted (worker process died, killed at a hard timeout, or still
# running when the node's shutdown grace ended): available now if attempts remain.
RESCUE_OWNED = f"""
UPDATE jobs_job SET
  state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
  discarded_at = CASE WHEN attempt >= max_attempts THEN now() ELSE NULL END,
  scheduled_at = CASE WHEN attempt >= max_attempts THEN scheduled_at ELSE now() END,
  last_outcome = 'failed',
  errors = errors || %(error)s::jsonb
 WHERE {_OWNED}
RETURNING queue, state
"""

RETRY_INTERRUPTED = f"""
UPDATE jobs_job SET
  state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
  discarded_at = CASE WHEN attempt >= max_attempts THEN now() ELSE NULL END,
  scheduled_at = CASE WHEN attempt >= max_attempts THEN scheduled_at
                      ELSE now() + make_interval(secs => %(delay)s::float8) END,
  last_outcome = 'failed',
  errors = errors || %(error)s::jsonb
 WHERE {_OWNED}
RETURNING queue, state
"""

# The supervisor's release of claims its node revoked: a row that an application transaction
# holds is skipped (and released at a later sweep), never waited for.
RELEASE_UNSTARTED_SKIP_LOCKED = f"""
WITH owned AS (SELECT id FROM jobs_job WHERE {_OWNED} FOR UPDATE SKIP LOCKED)
UPDATE jobs_job j SET state = 'available', attempt = greatest(j.attempt - 1, 0),
       attempted_at = NULL, attempted_by = NULL
  FROM owned WHERE j.id = owned.id
RETURNING j.queue
"""

# Of the claims a node has handed to its workers but not started, those it no longer owns
# (cancelled, rescued by the lifeline, released): their packages must not start.
CLAIMS_NOT_OWNED = """
SELECT c.id, c.attempt, c.at_us
  FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(at_us)s::bigint[]) AS c(id, attempt, at_us)
 WHERE NOT EXISTS (
   SELECT 1 FROM jobs_job j
    WHERE j.id = c.id AND j.state = 'executing' AND j.attempt = c.attempt
      AND j.attempted_by[1] = %(node)s
      AND (extract(epoch FROM j.attempted_at) * 1000000)::bigint = c.at_us)
"""

NODE_EXECUTING = """
SELECT id, attempt, attempted_at FROM jobs_job
 WHERE state = 'executing' AND attempted_by[1] = %(node)s
"""

CANCELLED_AMONG = "SELECT id FROM jobs_job WHERE id = ANY(%s::bigint[]) AND state = 'cancelled'"

# --- Operations ------------------------------------------------------------------------------
# A workflow step waiting for its deps is not retried (it would run before them); a finished
# step whose deps are not all settled goes back to suspended (schema.sql's
# jobs_workflow_recount trigger).
RETRY_JOBS = """
UPDATE jobs_job SET state = 'available', scheduled_at = now(),
       max_attempts = greatest(max_attempts, attempt + 1),
       completed_at = NULL, discarded_at = NULL, cancelled_at = NULL,
       -- A finished job was keyed by the partition setting of its time.
       partition_key = (SELECT jobs_partition_key(q.partition, jobs_job.args, jobs_job.worker)
                          FROM jobs_queue q WHERE q.name = jobs_job.queue)
 WHERE id = ANY(%s::bigint[]) AND state NOT IN ('available', 'executing', 'suspended')
RETURNING id, queue
"""

CANCEL_JOBS = """
UPDATE jobs_job SET state = 'cancelled', cancelled_at = now()
 WHERE id = ANY(%s::bigint[])
   AND state IN ('available', 'scheduled', 'retryable', 'executing', 'suspended')
RETURNING id
"""

# Oban's delete: a job executing now is left alone (cancel it first).
DELETE_JOBS = """
DELETE FROM jobs_job WHERE id = ANY(%s::bigint[]) AND state <> 'executing'
RETURNING id
"""

NOTIFY = "SELECT pg_notify(%s, q) FROM unnest(%s::text[]) AS q"

STAGE = "SELECT jobs_stage(%s)"
STAGE_QUEUE_NOW = """
UPDATE jobs_job SET state = 'available', scheduled_at = least(scheduled_at, now())
 WHERE queue = %s AND state IN ('scheduled', 'retryable')
"""
RESCUE = "SELECT jobs_rescue(make_interval(secs => %s::float8), make_interval(secs => %s::float8))"

PRUNE = {
    state: f"""
WITH doomed AS (
  SELECT id FROM jobs_job
   WHERE state = '{state}' AND {column} < now() - make_interval(secs => %s::float8)
   ORDER BY {column} LIMIT %s FOR UPDATE SKIP LOCKED
)
DELETE FROM jobs_job j USING doomed WHERE j.id = doomed.id
"""
    for state, column in (
        ("completed", "completed_at"),
        ("cancelled", "cancelled_at"),
        ("discarded", "discarded_at"),
    )
}

QUEUE_COUNTS = """
SELECT state, count(*) FROM jobs_job
 WHERE queue = %s AND state IN ('available', 'scheduled', 'executing', 'retryable')
 GROUP BY state
"""

QUEUE_COUNTS_ALL = """
SELECT queue, state, count(*) FROM jobs_job
 WHERE state IN ('available', 'scheduled', 'executing', 'retryable', 'discarded')
 GROUP BY queue, state
"""

# --- Nodes and queues -------------------------------------------------------------------------
NODE_REGISTER = """
INSERT INTO jobs_node (name, host, pid, queues, concurrency, started_at, heartbeat_at, stopping)
VALUES (%(name)s, %(host)s, %(pid)s, %(queues)s, %(concurrency)s, now(), now(), false)
ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), stopping = excluded.stopping
"""
NODE_HEARTBEAT = "UPDATE jobs_node SET heartbeat_at = now(), stopping = %s WHERE name = %s"
NODE_DELETE = "DELETE FROM jobs_node WHERE name = %s"

# A value changed in settings replaces the runtime one; an unchanged one keeps what scale_queue
# set (limit, rate limit and partition each on its own).
QUEUE_SYNC = """
INSERT INTO jobs_queue (name, "limit", configured_limit, paused, rate_limit, configured_rate_limit,
                        partition, configured_partition, updated_at)
VALUES (%(name)s, %(limit)s, %(limit)s, %(paused)s, %(rate_limit)s::jsonb, %(rate_limit)s::jsonb,
        %(partition)s::jsonb, %(partition)s::jsonb, now())
ON CONFLICT (name) DO UPDATE
   SET "limit" = CASE WHEN jobs_queue.configured_limit = excluded.configured_limit
                      THEN jobs_queue."limit" ELSE excluded."limit" END,
       configured_limit = excluded.configured_limit,
       rate_limit = CASE
         WHEN jobs_queue.configured_rate_limit IS NOT DISTINCT FROM excluded.configured_rate_limit
         THEN jobs_queue.rate_limit ELSE excluded.rate_limit END,
       configured_rate_limit = excluded.configured_rate_limit,
       partition = CASE
         WHEN jobs_queue.configured_partition IS NOT DISTINCT FROM excluded.configured_partition
         THEN jobs_queue.partition ELSE excluded.partition END,
       configured_partition = excluded.configured_partition,
       updated_at = CASE WHEN jobs_queue.configured_limit = excluded.configured_limit
         AND jobs_queue.configured_rate_limit IS NOT DISTINCT FROM excluded.configured_rate_limit
         AND jobs_queue.configured_partition IS NOT DISTINCT FROM excluded.configured_partition
         THEN jobs_queue.updated_at ELSE now() END
"""
QUEUE_PARTITION = "SELECT partition, configured_partition FROM jobs_queue WHERE name = %s"
PAUSED_QUEUES = "SELECT name FROM jobs_queue WHERE paused"
QUEUE_SET_PAUSED = "UPDATE jobs_queue SET paused = %s, updated_at = now() WHERE name = %s"
QUEUE_SET_LIMIT = 'UPDATE jobs_queue SET "limit" = %s, updated_at = now() WHERE name = %s'
QUEUE_SET_RATE_LIMIT = (
    "UPDATE jobs_queue SET rate_limit = %s::jsonb, updated_at = now() WHERE name = %s"
)
# A queue without a rate limit keeps no window (a new one starts empty).
QUEUE_FORGET_STARTS = "DELETE FROM jobs_queue_start WHERE queue = %s"
QUEUE_SET_PARTITION = """
UPDATE jobs_queue SET partition = %s::jsonb, partition_cursor = NULL, updated_at = now()
 WHERE name = %s
"""
# Taken exclusively while a queue's partition changes; inserts take it shared (jobs_key_inserted
# in schema.sql), so no insert keys a job by a setting that is being replaced.
PARTITION_LOCK = "SELECT pg_advisory_xact_lock(7021, hashtext('partition:' || %s))"
PARTITION_LOCK_TIMEOUT = "SET LOCAL lock_timeout = %s"
# Re-key the queue's unfinished jobs (any state a job can leave again, executing included).
PARTITION_REKEY = """
UPDATE jobs_job SET partition_key = jobs_partition_key(%(partition)s::jsonb, args, worker)
 WHERE queue = %(name)s AND state NOT IN ('completed', 'discarded', 'cancelled')
   AND partition_key IS DISTINCT FROM jobs_partition_key(%(partition)s::jsonb, args, worker)
"""
# The window's use: starts after now() - period (what the next claim counts).
QUEUE_WINDOW_USE = """
SELECT coalesce(sum(count), 0) FROM jobs_queue_start
 WHERE queue = %s AND started_at > now() - make_interval(secs => %s::float8)
"""
# A partitioned queue's use: jobs running per partition (computed from args, as the claim does)
# and partitions with jobs waiting.
QUEUE_PARTITION_USE = """
SELECT (SELECT count(*) FROM (
          SELECT 1 FROM jobs_job WHERE state = 'executing' AND queue = %(name)s
           GROUP BY jobs_partition_key(%(partition)s::jsonb, args, worker)) r),
       (SELECT coalesce(max(n), 0) FROM (
          SELECT count(*) AS n FROM jobs_job WHERE state = 'executing' AND queue = %(name)s
           GROUP BY jobs_partition_key(%(partition)s::jsonb, args, worker)) r),
       (SELECT count(DISTINCT partition_key) FROM jobs_job
         WHERE state = 'available' AND queue = %(name)s AND partition_key IS NOT NULL)
"""


# Leadership is a lease, not a session lock: a leader that stops (SIGSTOP, a long pause, a
# half-open connection) loses it when the lease expires, and another node takes over.
LEADER_ACQUIRE = """
INSERT INTO jobs_lease (name, holder, expires_at)
VALUES ('leader', %(node)s, now() + make_interval(secs => %(seconds)s::float8))
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
 WHERE jobs_lease.holder = excluded.holder OR jobs_lease.expires_at < now()
RETURNING holder
"""
LEADER_RELEASE = "DELETE FROM jobs_lease WHERE name = 'leader' AND holder = %s"
LEADER_HOLDER = "SELECT holder, expires_at FROM jobs_lease WHERE name = 'leader'"
XACT_LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"


# --- Metrics (the dashboard's charts; workflows.jobs.store.metrics) ---------------------------
def _wait_buckets() -> str:
    from workflows.jobs.policy.metrics import WAIT_BUCKET_BOUNDS_MS

    bounds = (None, *WAIT_BUCKET_BOUNDS_MS, None)
    parts = []
    for low, high in itertools.pairwise(bounds):
        condition = " AND ".join(
            ([f"wait_ms >= {low}"] if low is not None else [])
            + ([f"wait_ms < {high}"] if high is not None else [])
        )
        parts.append(f"(count(*) FILTER (WHERE {condition}))::int")
    return "ARRAY[" + ", ".join(parts) + "]"


# Recomputes the closed minutes of [since, until) from the jobs table and replaces their rows.
# Failed attempts are the jobs now retryable, counted at their attempt's start.
METRICS_ROLLUP = f"""
WITH ended AS (
  SELECT queue, worker, 'completed' AS outcome, completed_at AS at, attempted_at, scheduled_at
    FROM jobs_job WHERE state = 'completed'
     AND completed_at >= %(since)s AND completed_at < %(until)s
  UNION ALL
  SELECT queue, worker, 'discarded', discarded_at, attempted_at, scheduled_at
    FROM jobs_job WHERE state = 'discarded'
     AND discarded_at >= %(since)s AND discarded_at < %(until)s
  UNION ALL
  SELECT queue, worker, 'cancelled', cancelled_at, attempted_at, scheduled_at
    FROM jobs_job WHERE state = 'cancelled'
     AND cancelled_at >= %(since)s AND cancelled_at < %(until)s
  UNION ALL
  SELECT queue, worker, 'failed', attempted_at, attempted_at, NULL
    FROM jobs_job WHERE state = 'retryable'
     AND attempted_at >= %(since)s AND attempted_at < %(until)s
), measured AS (
  SELECT queue, worker, outcome, date_trunc('minute', at) AS minute,
         greatest(0, extract(epoch FROM at - attempted_at) * 1000) AS duration_ms,
         greatest(0, extract(epoch FROM attempted_at - scheduled_at) * 1000) AS wait_ms
    FROM ended
)
INSERT INTO jobs_metric (minute, queue, worker, outcome, count, duration_ms_sum, wait_ms_sum,
                         wait_ms_buckets)
SELECT minute, queue, worker, outcome, count(*), coalesce(sum(duration_ms), 0)::bigint,
       coalesce(sum(wait_ms), 0)::bigint, {_wait_buckets()}
  FROM measured GROUP BY minute, queue, worker, outcome
ON CONFLICT (minute, queue, worker, outcome) DO UPDATE SET
  count = excluded.count, duration_ms_sum = excluded.duration_ms_sum,
  wait_ms_sum = excluded.wait_ms_sum, wait_ms_buckets = excluded.wait_ms_buckets
"""

METRICS_PRUNE = "DELETE FROM jobs_metric WHERE minute < now() - make_interval(days => %s)"
