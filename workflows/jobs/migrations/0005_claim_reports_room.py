from django.db import migrations


# Frozen: the SQL exactly as this migration installed it (from workflows/jobs/sql.py at
# dbe1e8c); later changes go into new migrations, never here.
CLAIM_FUNCTION = r"""
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
    -- An empty queue costs one index probe, not a lock and a count.
    CONTINUE WHEN NOT EXISTS (
      SELECT 1 FROM jobs_job WHERE state = 'available' AND queue = v_name);
    IF NOT pg_try_advisory_xact_lock(7021, hashtext('queue:' || v_name)) THEN
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


class Migration(migrations.Migration):
    """jobs_claim() also reports the headroom and limits of the queues with waiting jobs."""

    dependencies = [("jobs", "0004_claim_async_commit")]

    operations = [migrations.RunSQL(CLAIM_FUNCTION, reverse_sql=migrations.RunSQL.noop)]
