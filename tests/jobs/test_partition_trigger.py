"""The trigger that keys new jobs of partitioned queues plans its UPDATE for every statement.

PL/pgSQL caches the plans of a function's statements per session and, after five executions,
may keep a generic one. For jobs_key_inserted() that plan was made for the transition tables
of the session's first small inserts; a bulk insert of a million jobs into a partitioned queue
later in the same session (a web process inserting workflow steps all day, then an import)
ran with it as a nested loop over the whole table per inserted row, for hours. The trigger
now plans the UPDATE afresh (EXECUTE), so its plan sees the real number of inserted rows."""

import pytest
from django.db import connection

from tests.support.plans import nested_plans, plan_nodes
from workflows.jobs.api.queues import sync_queues

pytestmark = pytest.mark.django_db

ONE = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, inserted_at, uniq_states)
VALUES ('available', 'medical_workflow', 'tests.support.workers.RecordingWorker',
        jsonb_build_object('author_id', %s), '{}', '{}', '[]', 0, 20, 0, now(), now(), 0)
"""

BULK = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, inserted_at, uniq_states)
SELECT 'available', 'medical_workflow', 'tests.support.workers.RecordingWorker',
       jsonb_build_object('author_id', g %% 50), '{}', '{}', '[]', 0, 20, 0, now(), now(), 0
  FROM generate_series(1, %s) g
"""


def test_a_bulk_insert_after_small_ones_is_keyed_with_a_plan_sized_for_it():
    sync_queues()  # medical_workflow is partitioned by author (settings)
    bulk = 3000
    with connection.cursor() as cursor:
        plans = nested_plans(cursor, [(ONE, [author]) for author in range(8)] + [(BULK, [bulk])])
        cursor.execute(
            "SELECT count(*) FROM jobs_job WHERE queue = 'medical_workflow' "
            "AND partition_key IS NULL"
        )
        unkeyed = cursor.fetchone()[0]
    assert unkeyed == 0, "every inserted job of the partitioned queue got its partition key"
    # The transition table's scan in the keying UPDATE of the bulk insert: its plan expects
    # the rows the statement inserted (a cached plan expects the one row of the small inserts).
    scans = [
        node["Plan Rows"]
        for plan in plans
        for node in plan_nodes(plan)
        if node["Node Type"] == "Named Tuplestore Scan"
    ]
    assert max(scans) == bulk, scans
