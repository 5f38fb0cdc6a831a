from django.db import migrations


# Frozen: the SQL exactly as this migration installed it (from workflows/jobs/sql.py at
# a3da45c); later changes go into new migrations, never here.
INSTALL = r"""
-- Wake idle nodes when jobs become available: once per statement and queue, delivered on commit.
CREATE OR REPLACE FUNCTION jobs_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE q text;
BEGIN
  FOR q IN SELECT DISTINCT queue FROM inserted WHERE state = 'available' LOOP
    PERFORM pg_notify('jobs_available', q);
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

-- Claim jobs for one node in one round trip. Per queue: skip it when paused; take the queue's
-- advisory lock so concurrent claimers of one queue are serialised (a global limit cannot be
-- enforced by counting inside the claiming statement); count its running jobs; claim at most
-- min(free node slots, limit - running) with SKIP LOCKED in priority, scheduled_at, id order.
-- Queues are visited round-robin from p_start so a busy queue cannot starve the others.
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
BEGIN
  SELECT p_capacity - count(*) INTO v_free FROM jobs_job
   WHERE state = 'executing' AND attempted_by[1] = p_node;
  IF v_free <= 0 OR v_n = 0 THEN
    RETURN jsonb_build_object('jobs', v_claimed, 'contended', false);
  END IF;
  FOR i IN 0 .. v_n - 1 LOOP
    v_name := p_queues[((p_start + i) % v_n) + 1];
    SELECT q."limit", q.paused INTO v_limit, v_paused FROM jobs_queue q WHERE q.name = v_name;
    CONTINUE WHEN NOT FOUND OR v_paused;
    IF NOT pg_try_advisory_xact_lock(7021, hashtext('queue:' || v_name)) THEN
      v_contended := true;
      CONTINUE;
    END IF;
    SELECT count(*) INTO v_running FROM jobs_job WHERE state = 'executing' AND queue = v_name;
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
    EXIT WHEN v_free <= 0;
  END LOOP;
  RETURN jsonb_build_object('jobs', v_claimed, 'contended', v_contended);
END $$;

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
  FOREACH q IN ARRAY coalesce(v_queues, '{}'::text[]) LOOP
    PERFORM pg_notify('jobs_available', q);
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
  SELECT coalesce(array_agg(name), '{}'::text[]) INTO v_dead
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
  FOREACH q IN ARRAY coalesce(v_queues, '{}'::text[]) LOOP
    PERFORM pg_notify('jobs_available', q);
  END LOOP;
  RETURN v_count;
END $$;

ALTER TABLE jobs_job SET (autovacuum_vacuum_scale_factor = 0.02,
                          autovacuum_analyze_scale_factor = 0.02,
                          autovacuum_vacuum_cost_delay = 1);
"""

UNINSTALL = r"""
DROP TRIGGER IF EXISTS jobs_job_notify_insert ON jobs_job;
DROP TRIGGER IF EXISTS jobs_job_release_uniq ON jobs_job;
DROP FUNCTION IF EXISTS jobs_notify_inserted();
DROP FUNCTION IF EXISTS jobs_release_uniq_key();
DROP FUNCTION IF EXISTS jobs_state_bit(text);
DROP FUNCTION IF EXISTS jobs_claim(text, integer, text[], integer);
DROP FUNCTION IF EXISTS jobs_stage(integer);
DROP FUNCTION IF EXISTS jobs_rescue(interval, interval);
"""


class Migration(migrations.Migration):
    """The engine's functions and triggers (claim, stage, rescue, NOTIFY, unique-key release)."""

    dependencies = [("jobs", "0001_initial")]

    operations = [migrations.RunSQL(INSTALL, reverse_sql=UNINSTALL)]
