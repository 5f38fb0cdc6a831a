-- The engine's functions and triggers: the current source, the only one. A migration that
-- installs them carries its own frozen copy of this text (tests/jobs/test_schema.py fails when
-- this file and the migrated database disagree: edit here, then add a migration).
-- Wake idle nodes when jobs become available: once per statement and queue, delivered on commit.
CREATE OR REPLACE FUNCTION jobs_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE q text;
BEGIN
  FOR q IN SELECT DISTINCT queue FROM inserted WHERE state = 'available' LOOP
    PERFORM pg_notify('jobs_available', q);
  END LOOP;
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER jobs_job_notify_insert AFTER INSERT ON jobs_job
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_inserted();

-- A unique job holds its key only while in one of its unique states (uniq_states bitmask,
-- bits in the order of workflows.jobs.policy.states.ALL_STATES).
CREATE OR REPLACE FUNCTION jobs_state_bit(p_state text) RETURNS smallint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE p_state WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2 WHEN 'executing' THEN 4
    WHEN 'retryable' THEN 8 WHEN 'completed' THEN 16 WHEN 'discarded' THEN 32
    WHEN 'cancelled' THEN 64 WHEN 'suspended' THEN 128 ELSE 0 END)::smallint
$$;

CREATE OR REPLACE FUNCTION jobs_release_uniq_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.uniq_states & jobs_state_bit(NEW.state)) = 0 THEN
    NEW.uniq_key := NULL;
    NEW.uniq_window := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER jobs_job_release_uniq BEFORE UPDATE OF state ON jobs_job FOR EACH ROW
  WHEN (NEW.uniq_key IS NOT NULL AND NEW.state IS DISTINCT FROM OLD.state)
  EXECUTE FUNCTION jobs_release_uniq_key();


-- The one place a job becomes claimed: executing, its attempt counted, stamped with the node
-- and the claim time (which, with the attempt, identifies the attempt for every outcome write).
-- Callers pass ids whose rows they have locked (FOR UPDATE [SKIP LOCKED]).
CREATE OR REPLACE FUNCTION jobs_claim_ids(p_ids bigint[], p_node text)
RETURNS SETOF jobs_job LANGUAGE sql AS $$
  UPDATE jobs_job SET state = 'executing', attempt = attempt + 1, attempted_at = now(),
                      attempted_by = ARRAY[p_node]
   WHERE id = ANY(p_ids)
  RETURNING *
$$;

-- A job's partition in a queue partitioned by p_partition (workflows.jobs.Partition as JSON:
-- keys, by_worker, limit): an md5 of the worker and the args values of the keys, so any
-- value fits the index and no args value is shown anywhere. Jobs without the keys share one.
CREATE OR REPLACE FUNCTION jobs_partition_key(p_partition jsonb, p_args jsonb, p_worker text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN p_partition IS NULL THEN NULL ELSE md5(
    CASE WHEN (p_partition->>'by_worker')::boolean THEN p_worker ELSE '' END || ':' ||
    coalesce((SELECT jsonb_agg(p_args->k ORDER BY o)
                FROM jsonb_array_elements_text(p_partition->'keys') WITH ORDINALITY e(k, o)),
             '[]'::jsonb)::text) END
$$;

-- New jobs of partitioned queues get their partition key, whatever statement inserted them.
-- The shared lock per queue makes a runtime change of the partition (which takes it
-- exclusively, then re-keys the queue's jobs) wait for inserting transactions to end.
CREATE OR REPLACE FUNCTION jobs_key_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE q text;
BEGIN
  FOR q IN SELECT DISTINCT i.queue FROM inserted i LOOP
    PERFORM pg_advisory_xact_lock_shared(7021, hashtext('partition:' || q));
  END LOOP;
  -- Planned afresh for every statement (EXECUTE): a plan PL/pgSQL cached after a few small
  -- inserts in the same session assumes a tiny transition table, and on a bulk insert of a
  -- million rows into a partitioned queue such a plan ran for hours (a nested loop over the
  -- whole table per inserted row). A fresh plan sees the real number of inserted rows.
  EXECUTE 'UPDATE jobs_job j SET partition_key = jobs_partition_key(p.partition, j.args, j.worker)
             FROM inserted i JOIN jobs_queue p ON p.name = i.queue AND p.partition IS NOT NULL
            WHERE j.id = i.id';
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER jobs_job_key_insert AFTER INSERT ON jobs_job
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION jobs_key_inserted();

-- Claim jobs for one node in one round trip. Per queue: skip it when paused; take the queue's
-- advisory lock so concurrent claimers of one queue are serialised (a global limit cannot be
-- enforced by counting inside the claiming statement); count its running jobs; claim at most
-- min(free node slots, limit - running) with SKIP LOCKED in priority, scheduled_at, id order.
-- Queues are visited round-robin from p_start so a busy queue cannot starve the others.
-- A rate-limited queue also takes at most allowed - (starts recorded in jobs_queue_start
-- after now() - period): a sliding window over claim times (docs/job-engine.md proves the
-- bound). A partitioned queue visits its partitions round-robin from the one it served last,
-- one job per partition per visit, skipping partitions with `limit` jobs executing.
-- Returns the claimed jobs, the node's free slots left ('free'), and for the queues that had
-- jobs waiting, their headroom left ('room', at most 'free') and their limits ('cap', at most
-- p_capacity): the claiming process paces its next claim with them; 'wait', when a rate
-- limit held jobs back, is the seconds until its window has room again.
CREATE OR REPLACE FUNCTION jobs_claim(
  p_node text, p_capacity integer, p_queues text[], p_start integer)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_free integer;
  v_n integer := coalesce(array_length(p_queues, 1), 0);
  v_name text;
  v_limit integer;
  v_paused boolean;
  v_rate jsonb;
  v_part jsonb;
  v_cursor text;
  v_running integer;
  v_take integer;
  v_period interval;
  v_used integer;
  v_oldest timestamptz;
  v_wait float8;
  v_ids bigint[];
  v_plimit integer;
  v_pruns jsonb;
  v_key text;
  v_mark text;
  v_wrapped boolean;
  v_id bigint;
  v_args jsonb;
  v_worker text;
  v_true text;
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
    SELECT q."limit", q.paused, q.rate_limit, q.partition, q.partition_cursor
      INTO v_limit, v_paused, v_rate, v_part, v_cursor FROM jobs_queue q WHERE q.name = v_name;
    CONTINUE WHEN NOT FOUND OR v_paused;
    -- An empty queue costs one index probe, not a lock and a count. Not NOT EXISTS: for it
    -- the planner may pick a sequential scan that expects an early match and so reads the
    -- whole table when the queue is empty; ORDER BY the claim index's columns keeps it there.
    PERFORM 1 FROM jobs_job WHERE state = 'available' AND queue = v_name
      ORDER BY priority, scheduled_at, id LIMIT 1;
    CONTINUE WHEN NOT FOUND;
    IF NOT pg_try_advisory_xact_lock(7021, hashtext('queue:' || v_name)) THEN
      v_contended := true;
      CONTINUE;
    END IF;
    SELECT count(*) INTO v_running FROM jobs_job WHERE state = 'executing' AND queue = v_name;
    v_cap := v_cap + v_limit;
    v_take := least(v_free, v_limit - v_running);
    CONTINUE WHEN v_take <= 0;
    IF v_rate IS NOT NULL THEN
      v_period := make_interval(secs => (v_rate->>'period_seconds')::integer);
      -- The database clock stepped back more than a minute: starts stamped in its future
      -- count as made now, so the queue waits one period, not the size of the step.
      UPDATE jobs_queue_start SET started_at = now()
       WHERE queue = v_name AND started_at > now() + interval '60 seconds';
      -- Kept a minute past the window: a claim whose transaction began before an earlier
      -- claim's (now() is the transaction's start) must still see that claim's starts.
      DELETE FROM jobs_queue_start
       WHERE queue = v_name AND started_at <= now() - v_period - interval '60 seconds';
      SELECT coalesce(sum(count), 0), min(started_at) INTO v_used, v_oldest
        FROM jobs_queue_start WHERE queue = v_name AND started_at > now() - v_period;
      IF v_used >= (v_rate->>'allowed')::integer THEN
        v_wait := least(coalesce(v_wait, 3600),
                        greatest(0.01, extract(epoch FROM v_oldest + v_period - now())));
        CONTINUE;
      END IF;
      v_take := least(v_take, (v_rate->>'allowed')::integer - v_used);
    END IF;
    IF v_part IS NULL THEN
      v_ids := ARRAY(SELECT id FROM jobs_job
                      WHERE state = 'available' AND queue = v_name
                      ORDER BY priority, scheduled_at, id
                      LIMIT v_take
                      FOR UPDATE SKIP LOCKED);
    ELSE
      -- Running per partition, from the args (so a key stamped under an older setting
      -- cannot hide a running job): at most the queue's limit of rows.
      v_plimit := (v_part->>'limit')::integer;
      SELECT coalesce(jsonb_object_agg(r.k, r.n), '{}'::jsonb) INTO v_pruns
        FROM (SELECT jobs_partition_key(v_part, j.args, j.worker) AS k, count(*) AS n
                FROM jobs_job j WHERE j.state = 'executing' AND j.queue = v_name
               GROUP BY 1) r;
      v_ids := '{}';
      v_mark := coalesce(v_cursor, '');
      v_key := v_mark;
      v_wrapped := false;
      WHILE cardinality(v_ids) < v_take LOOP
        -- The next partition with jobs waiting, in key order, wrapping once after the last.
        SELECT j.partition_key INTO v_key FROM jobs_job j
         WHERE j.state = 'available' AND j.queue = v_name AND j.partition_key IS NOT NULL
           AND j.partition_key > v_key
         ORDER BY j.partition_key LIMIT 1;
        IF NOT FOUND THEN
          EXIT WHEN v_wrapped;
          v_wrapped := true;
          v_key := '';
          CONTINUE;
        END IF;
        -- Past the partition served last without claiming anything since: all visited.
        EXIT WHEN v_wrapped AND v_key > v_mark;
        CONTINUE WHEN coalesce((v_pruns->>v_key)::integer, 0) >= v_plimit;
        SELECT j.id, j.args, j.worker INTO v_id, v_args, v_worker FROM jobs_job j
         WHERE j.state = 'available' AND j.queue = v_name AND j.partition_key = v_key
           AND j.id <> ALL(v_ids) -- picked on an earlier turn: locked, but by this claim
         ORDER BY j.priority, j.scheduled_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        v_true := jobs_partition_key(v_part, v_args, v_worker);
        IF v_true IS DISTINCT FROM v_key THEN
          -- Keyed under an older setting: file it under its partition, claim it from there.
          UPDATE jobs_job SET partition_key = v_true WHERE id = v_id;
          CONTINUE;
        END IF;
        v_ids := v_ids || v_id;
        v_pruns := v_pruns || jsonb_build_object(v_key, coalesce((v_pruns->>v_key)::integer, 0) + 1);
        v_mark := v_key;
        v_wrapped := false;
      END LOOP;
      IF cardinality(v_ids) > 0 THEN
        -- Not while a runtime change holds the row (it may be re-keying many jobs): the
        -- cursor only steers the turns, a claim must not wait for it.
        UPDATE jobs_queue SET partition_cursor = v_mark
         WHERE name = (SELECT name FROM jobs_queue WHERE name = v_name FOR UPDATE SKIP LOCKED);
      END IF;
    END IF;
    SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.priority, c.scheduled_at, c.id), '[]'::jsonb),
           count(*)
      INTO v_batch, v_count
      FROM (SELECT j.id, j.queue, j.worker, j.args, j.meta, j.tags, j.errors, j.attempt,
                   j.max_attempts, j.priority, j.scheduled_at, j.attempted_at, j.inserted_at
              FROM jobs_claim_ids(v_ids, p_node) j) c;
    IF v_rate IS NOT NULL AND v_count > 0 THEN
      INSERT INTO jobs_queue_start (queue, started_at, count) VALUES (v_name, now(), v_count);
    END IF;
    v_claimed := v_claimed || v_batch;
    v_free := v_free - v_count;
    v_room := v_room + greatest(0, v_limit - v_running - v_count);
    EXIT WHEN v_free <= 0;
  END LOOP;
  RETURN jsonb_build_object(
    'jobs', v_claimed, 'contended', v_contended, 'free', v_free,
    'room', CASE WHEN v_cap = 0 THEN v_free ELSE least(v_free, v_room) END,
    'cap', CASE WHEN v_cap = 0 THEN p_capacity ELSE least(p_capacity, v_cap) END,
    'wait', v_wait);
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
      last_outcome = 'failed',
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


-- Workflows (workflows.jobs.api.workflows). A step with deps is inserted `suspended` with
-- deps_pending = its number of deps; jobs_job_dep holds the edges (job waits for dep). The
-- bookkeeping is these triggers, so it commits or rolls back with the statement that settles
-- a step: no step is released twice or forgotten, whatever process dies when. A dep is
-- "settled" for a dependent when it completed, or failed (discarded, cancelled) and the
-- dependent's on_dep_failure is 'run'.
CREATE OR REPLACE FUNCTION jobs_dep_settled(p_dep_state text, p_on_dep_failure text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_dep_state = 'completed'
      OR (p_on_dep_failure = 'run' AND p_dep_state IN ('discarded', 'cancelled'))
$$;

-- A step reached a final state: its suspended dependents that this settles count down (one
-- statement; the last dep releases them); when it failed, the dependents that do not 'run'
-- follow it, transitively, in one statement (cancelled or discarded, the reason naming the
-- dep), and the 'run' dependents of those count down too. jobs.workflow_cascade is set while
-- this function writes, so the rows it writes do not start the same work again.
CREATE OR REPLACE FUNCTION jobs_workflow_settle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_queues text[];
  v_reason text;
  q text;
BEGIN
  IF current_setting('jobs.workflow_cascade', true) = 'on' THEN RETURN NULL; END IF;
  PERFORM set_config('jobs.workflow_cascade', 'on', true);
  WITH dependents AS (
    SELECT d.id FROM jobs_job_dep e JOIN jobs_job d ON d.id = e.job_id
     WHERE e.dep_id = NEW.id AND d.state = 'suspended'
       AND jobs_dep_settled(NEW.state, d.on_dep_failure)
     ORDER BY d.id FOR UPDATE OF d
  ), released AS (
    UPDATE jobs_job d SET deps_pending = d.deps_pending - 1,
           state = CASE WHEN d.deps_pending > 1 THEN 'suspended'
                        WHEN d.scheduled_at > now() THEN 'scheduled' ELSE 'available' END
      FROM dependents x WHERE d.id = x.id
    RETURNING d.queue, d.state
  )
  SELECT array_agg(DISTINCT queue) FILTER (WHERE state = 'available') INTO v_queues
    FROM released;
  IF NEW.state IN ('discarded', 'cancelled') THEN
    v_reason := coalesce(': ' || (NEW.errors -> -1 ->> 'error'), '');
    WITH RECURSIVE doomed(id, via) AS (
      SELECT e.job_id, e.dep_id FROM jobs_job_dep e JOIN jobs_job d ON d.id = e.job_id
       WHERE e.dep_id = NEW.id AND d.state = 'suspended' AND d.on_dep_failure <> 'run'
      UNION
      SELECT e.job_id, e.dep_id FROM doomed x JOIN jobs_job_dep e ON e.dep_id = x.id
        JOIN jobs_job d ON d.id = e.job_id
       WHERE d.state = 'suspended' AND d.on_dep_failure <> 'run'
    ), first_via AS (
      SELECT DISTINCT ON (id) id, via FROM doomed ORDER BY id, via
    ), locked AS (
      SELECT d.id, f.via, u.step AS via_step,
             CASE WHEN u.id = NEW.id THEN NEW.state
                  WHEN u.on_dep_failure = 'discard' THEN 'discarded' ELSE 'cancelled' END
               AS via_state
        FROM first_via f JOIN jobs_job d ON d.id = f.id JOIN jobs_job u ON u.id = f.via
       ORDER BY d.id FOR UPDATE OF d
    ), failed AS (
      UPDATE jobs_job d SET
        state = CASE WHEN d.on_dep_failure = 'discard' THEN 'discarded' ELSE 'cancelled' END,
        cancelled_at = CASE WHEN d.on_dep_failure = 'discard' THEN NULL ELSE now() END,
        discarded_at = CASE WHEN d.on_dep_failure = 'discard' THEN now() ELSE NULL END,
        errors = d.errors || jsonb_build_array(jsonb_build_object(
          'attempt', d.attempt, 'at', now(), 'dep', l.via_step,
          'error', CASE WHEN d.on_dep_failure = 'discard' THEN 'Discarded' ELSE 'Cancelled' END
            || ': dep ''' || coalesce(l.via_step, '?') || ''' (job ' || l.via || ') was '
            || l.via_state
            || CASE WHEN l.via = NEW.id THEN v_reason
                    ELSE ' after ''' || coalesce(NEW.step, '?') || ''' (job ' || NEW.id
                         || ') was ' || NEW.state || v_reason END))
        FROM locked l WHERE d.id = l.id AND d.state = 'suspended'
      RETURNING d.id
    ), run_anyway AS (
      SELECT e.job_id AS id, count(*) AS n FROM failed f JOIN jobs_job_dep e ON e.dep_id = f.id
       GROUP BY e.job_id
    ), run_locked AS (
      SELECT d.id, r.n FROM run_anyway r JOIN jobs_job d ON d.id = r.id
       WHERE d.state = 'suspended' AND d.on_dep_failure = 'run'
       ORDER BY d.id FOR UPDATE OF d
    ), run_released AS (
      UPDATE jobs_job d SET deps_pending = d.deps_pending - r.n,
             state = CASE WHEN d.deps_pending > r.n THEN 'suspended'
                          WHEN d.scheduled_at > now() THEN 'scheduled' ELSE 'available' END
        FROM run_locked r WHERE d.id = r.id
      RETURNING d.queue, d.state
    )
    SELECT array_agg(DISTINCT queue) FILTER (WHERE state = 'available') || v_queues
      INTO v_queues FROM run_released;
  END IF;
  PERFORM set_config('jobs.workflow_cascade', 'off', true);
  FOREACH q IN ARRAY coalesce(v_queues, '{}'::text[]) LOOP
    PERFORM pg_notify('jobs_available', q);
  END LOOP;
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER jobs_job_workflow_settle AFTER UPDATE OF state ON jobs_job
  FOR EACH ROW
  WHEN (NEW.workflow_id IS NOT NULL
        AND NEW.state IN ('completed', 'discarded', 'cancelled')
        AND OLD.state NOT IN ('completed', 'discarded', 'cancelled'))
  EXECUTE FUNCTION jobs_workflow_settle();

-- A finished step put back to available (retry): if some of its deps are not settled it
-- waits for them again, suspended. Its deps are locked FOR SHARE first, so a dep settling
-- at the same moment is counted once: either here or by jobs_workflow_settle.
CREATE OR REPLACE FUNCTION jobs_workflow_recount() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v_pending integer;
BEGIN
  PERFORM 1 FROM jobs_job u WHERE u.id IN (SELECT dep_id FROM jobs_job_dep WHERE job_id = NEW.id)
    ORDER BY u.id FOR SHARE;
  SELECT count(*) INTO v_pending FROM jobs_job_dep e JOIN jobs_job u ON u.id = e.dep_id
   WHERE e.job_id = NEW.id AND NOT jobs_dep_settled(u.state, NEW.on_dep_failure);
  IF v_pending > 0 THEN
    NEW.state := 'suspended';
    NEW.deps_pending := v_pending;
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER jobs_job_workflow_recount BEFORE UPDATE OF state ON jobs_job
  FOR EACH ROW
  WHEN (NEW.workflow_id IS NOT NULL AND NEW.state = 'available'
        AND OLD.state IN ('completed', 'discarded', 'cancelled'))
  EXECUTE FUNCTION jobs_workflow_recount();

-- A finished step is back (retry). When it had failed, the dependents that followed it (their
-- last error names a 'dep'), transitively, are suspended again, unless another of their deps
-- failed on its own. Then every suspended dependent of it and of those counts its deps afresh
-- (a recount, not an increment: two steps of one workflow retried in one statement cannot
-- count one dep twice), their deps locked FOR SHARE first as in jobs_workflow_recount.
CREATE OR REPLACE FUNCTION jobs_workflow_reopen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_restored bigint[] := '{}';
  v_waiting bigint[];
BEGIN
  IF current_setting('jobs.workflow_cascade', true) = 'on' THEN RETURN NULL; END IF;
  PERFORM set_config('jobs.workflow_cascade', 'on', true);
  IF OLD.state IN ('discarded', 'cancelled') THEN
    WITH RECURSIVE back(id) AS (
      SELECT d.id FROM jobs_job_dep e JOIN jobs_job d ON d.id = e.job_id
       WHERE e.dep_id = NEW.id AND d.state IN ('cancelled', 'discarded')
         AND (d.errors -> -1) ? 'dep'
      UNION
      SELECT d.id FROM back b JOIN jobs_job_dep e ON e.dep_id = b.id
        JOIN jobs_job d ON d.id = e.job_id
       WHERE d.state IN ('cancelled', 'discarded') AND (d.errors -> -1) ? 'dep'
    ), candidates AS (
      SELECT d.id FROM back b JOIN jobs_job d ON d.id = b.id
       WHERE NOT EXISTS (
         SELECT 1 FROM jobs_job_dep e JOIN jobs_job u ON u.id = e.dep_id
          WHERE e.job_id = d.id AND u.state IN ('discarded', 'cancelled')
            AND NOT (u.errors -> -1) ? 'dep' AND NOT jobs_dep_settled(u.state, d.on_dep_failure))
       ORDER BY d.id FOR UPDATE OF d
    ), restored AS (
      UPDATE jobs_job d SET state = 'suspended', cancelled_at = NULL, discarded_at = NULL
        FROM candidates c WHERE d.id = c.id
      RETURNING d.id
    )
    SELECT coalesce(array_agg(id), '{}') INTO v_restored FROM restored;
  END IF;
  SELECT array_agg(DISTINCT d.id) INTO v_waiting
    FROM jobs_job_dep e JOIN jobs_job d ON d.id = e.job_id
   WHERE e.dep_id = ANY(NEW.id || v_restored) AND d.state = 'suspended';
  IF v_waiting IS NOT NULL THEN
    PERFORM 1 FROM jobs_job u
     WHERE u.id IN (SELECT dep_id FROM jobs_job_dep WHERE job_id = ANY(v_waiting))
     ORDER BY u.id FOR SHARE;
    WITH locked AS (
      SELECT id FROM jobs_job WHERE id = ANY(v_waiting) AND state = 'suspended'
       ORDER BY id FOR UPDATE
    )
    UPDATE jobs_job d SET deps_pending = (
        SELECT count(*) FROM jobs_job_dep e JOIN jobs_job u ON u.id = e.dep_id
         WHERE e.job_id = d.id AND NOT jobs_dep_settled(u.state, d.on_dep_failure))
      FROM locked l WHERE d.id = l.id;
  END IF;
  PERFORM set_config('jobs.workflow_cascade', 'off', true);
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER jobs_job_workflow_reopen AFTER UPDATE OF state ON jobs_job
  FOR EACH ROW
  WHEN (NEW.workflow_id IS NOT NULL
        AND OLD.state IN ('completed', 'discarded', 'cancelled')
        AND NEW.state NOT IN ('completed', 'discarded', 'cancelled'))
  EXECUTE FUNCTION jobs_workflow_reopen();
