"""jobs_key_inserted() plans its UPDATE for every statement (EXECUTE), so a bulk insert into a
partitioned queue never runs with a plan PL/pgSQL cached for tiny transition tables (found by
tests/jobs/test_claim_plan.py hanging in CI; regression test in tests/jobs/test_partition_trigger.py)."""

from django.db import migrations

# Frozen: jobs_key_inserted() of workflows/jobs/store/schema.sql as this migration installs it.
SCHEMA = r"""CREATE OR REPLACE FUNCTION jobs_key_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""

# As migration 0011 installed it.
PREVIOUS = r"""CREATE OR REPLACE FUNCTION jobs_key_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0015_executing_node_index"),
    ]

    operations = [migrations.RunSQL(SCHEMA, reverse_sql=PREVIOUS)]
