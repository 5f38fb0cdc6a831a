from django.db import migrations


# Frozen: the SQL exactly as this migration installed it (from workflows/jobs/sql.py at
# 1d3eb7e); later changes go into new migrations, never here.
CLAIM_FUNCTION = r"""
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
    -- An empty queue costs one index probe, not a lock and a count.
    CONTINUE WHEN NOT EXISTS (
      SELECT 1 FROM jobs_job WHERE state = 'available' AND queue = v_name);
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
"""


class Migration(migrations.Migration):
    """jobs_claim() skips queues with no available job before taking their lock."""

    dependencies = [("jobs", "0002_engine_sql")]

    operations = [migrations.RunSQL(CLAIM_FUNCTION, reverse_sql=migrations.RunSQL.noop)]
