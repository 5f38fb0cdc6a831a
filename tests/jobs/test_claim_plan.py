"""The claim stays an index scan with a million rows in the table (mixed states)."""

import json

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

FILL = """
INSERT INTO jobs_job (state, queue, worker, args, meta, tags, errors, attempt, max_attempts,
                      priority, scheduled_at, inserted_at, uniq_states, completed_at, discarded_at)
SELECT s.state, q.queue, 'tests.support.workers.RecordingWorker', '{}', '{}', '{}', '[]',
       0, 20, g % 10, now() - (g % 1000) * interval '1 second', now(), 0,
       CASE WHEN s.state = 'completed' THEN now() END,
       CASE WHEN s.state = 'discarded' THEN now() END
  FROM generate_series(1, 1000000) g
  CROSS JOIN LATERAL (SELECT (ARRAY['completed','completed','completed','completed','completed',
        'completed','available','scheduled','discarded','retryable'])[1 + g % 10] AS state) s
  CROSS JOIN LATERAL (SELECT (ARRAY['default','email','medical_workflow'])[1 + g % 3] AS queue) q
"""


def _first(cursor):
    value = cursor.fetchone()[0]
    return (json.loads(value) if isinstance(value, str) else value)[0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_the_claim_uses_the_claim_index_with_a_million_rows():
    with connection.cursor() as cursor:
        cursor.execute(FILL)
        cursor.execute("ANALYZE jobs_job")
    claim_select = (
        "SELECT id FROM jobs_job WHERE state = 'available' AND queue = %s "
        "ORDER BY priority, scheduled_at, id LIMIT 10 FOR UPDATE SKIP LOCKED"
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + claim_select, ["email"])
        plan = _first(cursor)
    scans = [node for node in _nodes(plan) if "Scan" in node["Node Type"]]
    assert [node["Node Type"] for node in scans] == ["Index Scan"], plan
    assert scans[0]["Index Name"] == "jobs_job_claim"
    assert not any(node["Node Type"] == "Sort" for node in _nodes(plan))
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT count(*) FROM jobs_job "
            "WHERE state = 'executing' AND queue = %s",
            ["email"],
        )
        counting = _first(cursor)
    assert any(node.get("Index Name") == "jobs_job_executing" for node in _nodes(counting))
