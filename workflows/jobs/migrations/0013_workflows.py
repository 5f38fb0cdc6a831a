import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models


FOREIGN_KEYS = r"""
ALTER TABLE jobs_job_dep
  ADD CONSTRAINT jobs_job_dep_job_fk FOREIGN KEY (job_id) REFERENCES jobs_job (id) ON DELETE CASCADE,
  ADD CONSTRAINT jobs_job_dep_dep_fk FOREIGN KEY (dep_id) REFERENCES jobs_job (id) ON DELETE CASCADE;
"""

# Frozen: the functions and triggers of workflows/jobs/store/schema.sql this migration adds or
# changes (jobs_state_bit numbers the new state), as it installs them. Later changes go into
# new migrations, never here.
SCHEMA = r"""CREATE OR REPLACE FUNCTION jobs_state_bit(p_state text) RETURNS smallint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE p_state WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2 WHEN 'executing' THEN 4
    WHEN 'retryable' THEN 8 WHEN 'completed' THEN 16 WHEN 'discarded' THEN 32
    WHEN 'cancelled' THEN 64 WHEN 'suspended' THEN 128 ELSE 0 END)::smallint
$$;

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
"""


class Migration(migrations.Migration):
    """Workflows: jobs that wait for other jobs. The suspended state, the step columns on
    jobs_job, the workflow and edge tables, and the triggers that release, cascade and reopen
    dependents in the statement that settles a step (workflows.jobs.api.workflows)."""

    dependencies = [
        ("jobs", "0012_observability"),
    ]

    operations = [
        migrations.CreateModel(
            name="JobDependency",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
            ],
            options={
                "db_table": "jobs_job_dep",
            },
        ),
        migrations.CreateModel(
            name="JobWorkflow",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200)),
                (
                    "inserted_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "verbose_name": "workflow",
                "db_table": "jobs_workflow",
                "ordering": ["-id"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="job",
            name="jobs_job_state_valid",
        ),
        migrations.AddField(
            model_name="job",
            name="deps_pending",
            field=models.IntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="job",
            name="on_dep_failure",
            field=models.CharField(blank=True, max_length=8, null=True),
        ),
        migrations.AddField(
            model_name="job",
            name="step",
            field=models.CharField(blank=True, max_length=128, null=True),
        ),
        migrations.AlterField(
            model_name="job",
            name="state",
            field=models.CharField(
                choices=[
                    ("available", "Available"),
                    ("scheduled", "Scheduled"),
                    ("executing", "Executing"),
                    ("retryable", "Retryable"),
                    ("completed", "Completed"),
                    ("discarded", "Discarded"),
                    ("cancelled", "Cancelled"),
                    ("suspended", "Suspended"),
                ],
                default="available",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="jobdependency",
            name="dep",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="dependent_edges",
                to="jobs.job",
            ),
        ),
        migrations.AddField(
            model_name="jobdependency",
            name="job",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="dep_edges",
                to="jobs.job",
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="workflow",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="jobs",
                to="jobs.jobworkflow",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("workflow__isnull", False)),
                fields=["workflow", "step"],
                name="jobs_job_workflow",
            ),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "state__in",
                        (
                            "available",
                            "scheduled",
                            "executing",
                            "retryable",
                            "completed",
                            "discarded",
                            "cancelled",
                            "suspended",
                        ),
                    )
                ),
                name="jobs_job_state_valid",
            ),
        ),
        migrations.AddIndex(
            model_name="jobdependency",
            index=models.Index(fields=["job"], name="jobs_job_dep_job"),
        ),
        migrations.AddConstraint(
            model_name="jobdependency",
            constraint=models.UniqueConstraint(fields=("dep", "job"), name="jobs_job_dep_unique"),
        ),
        migrations.RunSQL(FOREIGN_KEYS, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(SCHEMA, reverse_sql=migrations.RunSQL.noop),
    ]
