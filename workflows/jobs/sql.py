"""All SQL the engine runs, as named statements. Nothing else in the engine writes jobs.

INSTALL is applied by migration 0002 (functions and triggers); the rest are executed by
workflows.jobs.engine with psycopg-style %s / %(name)s parameters.
"""

from __future__ import annotations

NOTIFY_CHANNEL = "jobs_available"
# Namespace of the engine's advisory locks (first int of the two-int form).
LOCK_NAMESPACE = 7021
CRON_SYNC_LOCK_KEY = 2

CLAIM_FUNCTION = f"""
-- Claim jobs for one node in one round trip. Per queue: skip it when paused; take the queue's
-- advisory lock so concurrent claimers of one queue are serialised (a global limit cannot be
-- enforced by counting inside the claiming statement); count its running jobs; claim at most
-- min(free node slots, limit - running) with SKIP LOCKED in priority, scheduled_at, id order.
-- Queues are visited round-robin from p_start so a busy queue cannot starve the others.
-- Returns the claimed jobs, the node's free slots left ('free'), and for the queues that had
-- jobs waiting, their headroom left ('room', at most 'free') and their limits ('cap', at most
-- p_capacity): the claiming process paces its next claim with them.
CREATE OR REPLACE FUNCTION jobs_claim(
  p_node text, p_capacity integer, p_queues text[], p_start integer)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_free integer;
  v_n integer := coalesce(array_length(p_queues, 1), 0);
  v_name text;
  v_limit integer;
  v_paused boolean;
  v_running integer;
  v_take integer;
  v_batch jsonb;
  v_count integer;
  v_claimed jsonb := '[]'::jsonb;
  v_contended boolean := false;
  v_room integer := 0;
  v_cap integer := 0;
BEGIN
  -- A claim lost in a server crash only makes its jobs available again (and a worker's
  -- outcome for one then fails its ownership check): it need not wait for the disk.
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT p_capacity - count(*) INTO v_free FROM jobs_job
   WHERE state = 'executing' AND attempted_by[1] = p_node;
  IF v_free <= 0 OR v_n = 0 THEN
    RETURN jsonb_build_object('jobs', v_claimed, 'contended', false, 'free', greatest(v_free, 0),
                              'room', greatest(v_free, 0), 'cap', p_capacity);
  END IF;
  FOR i IN 0 .. v_n - 1 LOOP
    v_name := p_queues[((p_start + i) % v_n) + 1];
    SELECT q."limit", q.paused INTO v_limit, v_paused FROM jobs_queue q WHERE q.name = v_name;
    CONTINUE WHEN NOT FOUND OR v_paused;
    -- An empty queue costs one index probe, not a lock and a count. Not NOT EXISTS: for it
    -- the planner may pick a sequential scan that expects an early match and so reads the
    -- whole table when the queue is empty; ORDER BY the claim index's columns keeps it there.
    PERFORM 1 FROM jobs_job WHERE state = 'available' AND queue = v_name
      ORDER BY priority, scheduled_at, id LIMIT 1;
    CONTINUE WHEN NOT FOUND;
    IF NOT pg_try_advisory_xact_lock({LOCK_NAMESPACE}, hashtext('queue:' || v_name)) THEN
      v_contended := true;
      CONTINUE;
    END IF;
    SELECT count(*) INTO v_running FROM jobs_job WHERE state = 'executing' AND queue = v_name;
    v_cap := v_cap + v_limit;
    v_take := least(v_free, v_limit - v_running);
    CONTINUE WHEN v_take <= 0;
    WITH picked AS (
      SELECT id FROM jobs_job
       WHERE state = 'available' AND queue = v_name
       ORDER BY priority, scheduled_at, id
       LIMIT v_take
       FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE jobs_job j
         SET state = 'executing', attempt = j.attempt + 1, attempted_at = now(),
             attempted_by = ARRAY[p_node]
        FROM picked WHERE j.id = picked.id
      RETURNING j.id, j.queue, j.worker, j.args, j.meta, j.tags, j.errors, j.attempt,
                j.max_attempts, j.priority, j.scheduled_at, j.attempted_at, j.inserted_at
    )
    SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.priority, c.scheduled_at, c.id), '[]'::jsonb),
           count(*)
      INTO v_batch, v_count FROM claimed c;
    v_claimed := v_claimed || v_batch;
    v_free := v_free - v_count;
    v_room := v_room + greatest(0, v_limit - v_running - v_count);
    EXIT WHEN v_free <= 0;
  END LOOP;
  RETURN jsonb_build_object(
    'jobs', v_claimed, 'contended', v_contended, 'free', v_free,
    'room', CASE WHEN v_cap = 0 THEN v_free ELSE least(v_free, v_room) END,
    'cap', CASE WHEN v_cap = 0 THEN p_capacity ELSE least(p_capacity, v_cap) END);
END $$;
"""

INSTALL = f"""
-- Wake idle nodes when jobs become available: once per statement and queue, delivered on commit.
CREATE OR REPLACE FUNCTION jobs_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE q text;
BEGIN
  FOR q IN SELECT DISTINCT queue FROM inserted WHERE state = 'available' LOOP
    PERFORM pg_notify('{NOTIFY_CHANNEL}', q);
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER jobs_job_notify_insert AFTER INSERT ON jobs_job
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_inserted();

-- A unique job holds its key only while in one of its unique states (uniq_states bitmask,
-- bits in the order of workflows.jobs.states.ALL_STATES).
CREATE OR REPLACE FUNCTION jobs_state_bit(p_state text) RETURNS smallint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE p_state WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2 WHEN 'executing' THEN 4
    WHEN 'retryable' THEN 8 WHEN 'completed' THEN 16 WHEN 'discarded' THEN 32
    WHEN 'cancelled' THEN 64 ELSE 0 END)::smallint
$$;

CREATE OR REPLACE FUNCTION jobs_release_uniq_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.uniq_states & jobs_state_bit(NEW.state)) = 0 THEN
    NEW.uniq_key := NULL;
    NEW.uniq_window := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER jobs_job_release_uniq BEFORE UPDATE OF state ON jobs_job FOR EACH ROW
  WHEN (NEW.uniq_key IS NOT NULL AND NEW.state IS DISTINCT FROM OLD.state)
  EXECUTE FUNCTION jobs_release_uniq_key();

{CLAIM_FUNCTION}
-- Move due scheduled and retryable jobs to available, a bounded batch at a time.
CREATE OR REPLACE FUNCTION jobs_stage(p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE v_count integer; v_queues text[]; q text;
BEGIN
  WITH due AS (
    SELECT id FROM jobs_job
     WHERE state IN ('scheduled', 'retryable') AND scheduled_at <= now()
     ORDER BY scheduled_at LIMIT p_limit FOR UPDATE SKIP LOCKED
  ), staged AS (
    UPDATE jobs_job j SET state = 'available' FROM due WHERE j.id = due.id RETURNING j.queue
  )
  SELECT count(*), array_agg(DISTINCT queue) INTO v_count, v_queues FROM staged;
  FOREACH q IN ARRAY coalesce(v_queues, '{{}}'::text[]) LOOP
    PERFORM pg_notify('{NOTIFY_CHANNEL}', q);
  END LOOP;
  RETURN v_count;
END $$;

-- Lifeline: executing jobs whose node stopped heartbeating, or that no known node owns after
-- p_rescue_after, go back to available (discarded when their attempts are spent). Dead nodes'
-- rows are deleted only after their jobs are requeued.
CREATE OR REPLACE FUNCTION jobs_rescue(p_dead_after interval, p_rescue_after interval)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE v_dead text[]; v_count integer; v_queues text[]; q text;
BEGIN
  SELECT coalesce(array_agg(name), '{{}}'::text[]) INTO v_dead
    FROM jobs_node WHERE heartbeat_at < now() - p_dead_after;
  WITH orphans AS (
    SELECT j.id, (j.attempted_by[1] = ANY(v_dead)) AS node_dead FROM jobs_job j
     WHERE j.state = 'executing'
       AND (j.attempted_by[1] = ANY(v_dead)
            OR (j.attempted_at < now() - p_rescue_after
                AND NOT EXISTS (SELECT 1 FROM jobs_node n WHERE n.name = j.attempted_by[1])))
     FOR UPDATE OF j SKIP LOCKED
  ), rescued AS (
    UPDATE jobs_job j SET
      state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'available' END,
      discarded_at = CASE WHEN j.attempt >= j.max_attempts THEN now() ELSE NULL END,
      scheduled_at = CASE WHEN j.attempt >= j.max_attempts THEN j.scheduled_at ELSE now() END,
      errors = j.errors || jsonb_build_array(jsonb_build_object(
        'attempt', j.attempt, 'at', now(),
        'error', CASE WHEN o.node_dead
          THEN 'Rescued: node ' || coalesce(j.attempted_by[1], '?') ||
               ' stopped heartbeating while the job was executing; the attempt was abandoned.'
          ELSE 'Rescued: no live node owned the job after ' || p_rescue_after::text ||
               ' in executing (node ' || coalesce(j.attempted_by[1], '?') || ' is gone).'
          END))
      FROM orphans o WHERE j.id = o.id
    RETURNING j.queue, j.state
  )
  SELECT count(*), array_agg(DISTINCT queue) FILTER (WHERE state = 'available')
    INTO v_count, v_queues FROM rescued;
  DELETE FROM jobs_node WHERE name = ANY(v_dead) AND heartbeat_at < now() - p_dead_after;
  FOREACH q IN ARRAY coalesce(v_queues, '{{}}'::text[]) LOOP
    PERFORM pg_notify('{NOTIFY_CHANNEL}', q);
  END LOOP;
  RETURN v_count;
END $$;

ALTER TABLE jobs_job SET (autovacuum_vacuum_scale_factor = 0.02,
                          autovacuum_analyze_scale_factor = 0.02,
                          autovacuum_vacuum_cost_delay = 1);
"""

UNINSTALL = """
DROP TRIGGER IF EXISTS jobs_job_notify_insert ON jobs_job;
DROP TRIGGER IF EXISTS jobs_job_release_uniq ON jobs_job;
DROP FUNCTION IF EXISTS jobs_notify_inserted();
DROP FUNCTION IF EXISTS jobs_release_uniq_key();
DROP FUNCTION IF EXISTS jobs_state_bit(text);
DROP FUNCTION IF EXISTS jobs_claim(text, integer, text[], integer);
DROP FUNCTION IF EXISTS jobs_stage(integer);
DROP FUNCTION IF EXISTS jobs_rescue(interval, interval);
"""

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
       %(uniq_states)s
  FROM (SELECT coalesce(%(scheduled_at)s::timestamptz, now()) AS at) s
{{on_conflict}}
RETURNING {RETURNING}
"""

# insert_all: COPY into a staging table of the session (emptied before use and at commit),
# then one INSERT ... SELECT. Only what the caller does not know comes back.
BATCH_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS jobs_insert_batch (
  i int, q text, w text, a jsonb, m jsonb, t text[], ma int, p smallint, at timestamptz,
  k text, up float8, us smallint
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
       r.us
  FROM jobs_insert_batch r
 ORDER BY r.i
ON CONFLICT DO NOTHING
RETURNING id, state, uniq_key, uniq_window, extract(epoch FROM scheduled_at)::float8,
          extract(epoch FROM inserted_at)::float8
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

CLAIM_ONE_FOR_DRAIN = f"""
WITH picked AS (
  SELECT id FROM jobs_job WHERE state = 'available' AND queue = %(queue)s
   ORDER BY priority, scheduled_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
)
UPDATE jobs_job j SET state = 'executing', attempt = j.attempt + 1, attempted_at = now(),
       attempted_by = ARRAY[%(node)s]
  FROM picked WHERE j.id = picked.id
RETURNING {", ".join("j." + c for c in JOB_COLUMNS)}
"""

CLAIM_BY_ID = f"""
UPDATE jobs_job SET state = 'executing', attempt = attempt + 1, attempted_at = now(),
       attempted_by = ARRAY[%(node)s]
 WHERE id = %(id)s AND state IN ('available', 'scheduled')
RETURNING {RETURNING}
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
    return f"UPDATE jobs_job SET {assignments} FROM {_COMMIT_MODE} WHERE {_OWNED}"


COMPLETE = _outcome("state = 'completed', completed_at = now()")

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
RETRY_JOBS = """
UPDATE jobs_job SET state = 'available', scheduled_at = now(),
       max_attempts = greatest(max_attempts, attempt + 1),
       completed_at = NULL, discarded_at = NULL, cancelled_at = NULL
 WHERE id = ANY(%s::bigint[]) AND state NOT IN ('available', 'executing')
RETURNING id, queue
"""

CANCEL_JOBS = """
UPDATE jobs_job SET state = 'cancelled', cancelled_at = now()
 WHERE id = ANY(%s::bigint[]) AND state IN ('available', 'scheduled', 'retryable', 'executing')
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

QUEUE_SYNC = """
INSERT INTO jobs_queue (name, "limit", configured_limit, paused, updated_at)
VALUES (%(name)s, %(limit)s, %(limit)s, %(paused)s, now())
ON CONFLICT (name) DO UPDATE
   SET "limit" = CASE WHEN jobs_queue.configured_limit = excluded.configured_limit
                      THEN jobs_queue."limit" ELSE excluded."limit" END,
       configured_limit = excluded.configured_limit,
       updated_at = CASE WHEN jobs_queue.configured_limit = excluded.configured_limit
                         THEN jobs_queue.updated_at ELSE now() END
"""
PAUSED_QUEUES = "SELECT name FROM jobs_queue WHERE paused"

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
