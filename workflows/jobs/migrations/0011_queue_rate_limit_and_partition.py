"""The queue's rate limit and partitioned limit (workflows.jobs.RateLimit, Partition): their
columns on jobs_queue, the rate window's starts (jobs_queue_start), each job's partition key and
its index, and the claim that obeys them."""

from django.db import migrations, models

# Frozen: the functions and trigger of workflows/jobs/store/schema.sql that this migration adds
# or changes, as it installs them. Later changes go into new migrations, never here.
SQL = r"""-- A job's partition in a queue partitioned by p_partition (workflows.jobs.Partition as JSON:
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
  UPDATE jobs_job j SET partition_key = jobs_partition_key(p.partition, j.args, j.worker)
    FROM inserted i JOIN jobs_queue p ON p.name = i.queue AND p.partition IS NOT NULL
   WHERE j.id = i.id;
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
"""

# Going back: the claim as 0008 installed it, without the new function and trigger.
REVERSE_SQL = r"""DROP TRIGGER IF EXISTS jobs_job_key_insert ON jobs_job;
DROP FUNCTION IF EXISTS jobs_key_inserted();
DROP FUNCTION IF EXISTS jobs_partition_key(jsonb, jsonb, text);
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
    IF NOT pg_try_advisory_xact_lock(7021, hashtext('queue:' || v_name)) THEN
      v_contended := true;
      CONTINUE;
    END IF;
    SELECT count(*) INTO v_running FROM jobs_job WHERE state = 'executing' AND queue = v_name;
    v_cap := v_cap + v_limit;
    v_take := least(v_free, v_limit - v_running);
    CONTINUE WHEN v_take <= 0;
    SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.priority, c.scheduled_at, c.id), '[]'::jsonb),
           count(*)
      INTO v_batch, v_count
      FROM (SELECT j.id, j.queue, j.worker, j.args, j.meta, j.tags, j.errors, j.attempt,
                   j.max_attempts, j.priority, j.scheduled_at, j.attempted_at, j.inserted_at
              FROM jobs_claim_ids(ARRAY(
                     SELECT id FROM jobs_job
                      WHERE state = 'available' AND queue = v_name
                      ORDER BY priority, scheduled_at, id
                      LIMIT v_take
                      FOR UPDATE SKIP LOCKED), p_node) j) c;
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
    dependencies = [("jobs", "0010_job_result")]

    operations = [
        migrations.CreateModel(
            name="QueueStart",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("queue", models.CharField(max_length=128)),
                ("started_at", models.DateTimeField()),
                ("count", models.PositiveIntegerField()),
            ],
            options={"db_table": "jobs_queue_start"},
        ),
        migrations.AddIndex(
            model_name="queuestart",
            index=models.Index(fields=["queue", "started_at"], name="jobs_queue_start_window"),
        ),
        migrations.AddField(
            model_name="job",
            name="partition_key",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="queue",
            name="rate_limit",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="queue",
            name="configured_rate_limit",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="queue",
            name="partition",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="queue",
            name="configured_partition",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="queue",
            name="partition_cursor",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("partition_key__isnull", False), ("state", "available")),
                fields=["queue", "partition_key", "priority", "scheduled_at", "id"],
                name="jobs_job_partition",
            ),
        ),
        migrations.RunSQL(SQL, reverse_sql=REVERSE_SQL),
    ]
