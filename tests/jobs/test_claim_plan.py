"""The claim stays an index scan with a million rows in the table (mixed states)."""

import pytest
from django.db import connection

from tests.support.plans import explain_plan, nested_plans, plan_nodes
from workflows.jobs.api.queues import sync_queues
from workflows.jobs.conf import jobs_settings

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
        plan = explain_plan(cursor)
    scans = [node for node in plan_nodes(plan) if "Scan" in node["Node Type"]]
    assert [node["Node Type"] for node in scans] == ["Index Scan"], plan
    assert scans[0]["Index Name"] == "jobs_job_claim"
    assert not any(node["Node Type"] == "Sort" for node in plan_nodes(plan))
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT count(*) FROM jobs_job "
            "WHERE state = 'executing' AND queue = %s",
            ["email"],
        )
        counting = explain_plan(cursor)
    # Either partial index of executing rows (by queue, or by node): both read only those.
    executing_indexes = {"jobs_job_executing", "jobs_job_executing_node"}
    assert any(node.get("Index Name") in executing_indexes for node in plan_nodes(counting)), (
        counting
    )


def test_inside_jobs_claim_no_statement_scans_the_table_even_for_an_empty_queue():
    sync_queues()
    nodes = [f"plan-test-node-{i}" for i in range(8)]
    with connection.cursor() as cursor:
        cursor.execute(FILL)
        # One served queue has nothing waiting: its probe must not read the whole table.
        cursor.execute(
            "UPDATE jobs_job SET state = 'completed', completed_at = now() "
            "WHERE queue = 'email' AND state = 'available'"
        )
        cursor.execute("ANALYZE jobs_job")
        queues = ["email", "default", "medical_workflow"]
        # One call per node, so each has free slots and visits the queues; eight calls take
        # plpgsql past its first five custom plans, to the generic one.
        plans = nested_plans(
            cursor, [("SELECT jobs_claim(%s, 8, %s::text[], 0)", [node, queues]) for node in nodes]
        )
    assert plans, "auto_explain reported the statements run inside jobs_claim()"
    on_jobs = [
        node
        for plan in plans
        for node in plan_nodes(plan)
        if node.get("Relation Name") == "jobs_job"
    ]
    assert on_jobs and not [n for n in on_jobs if n["Node Type"] == "Seq Scan"], on_jobs
    assert any(
        node["Node Type"] == "Index Scan" and node.get("Index Name") == "jobs_job_claim"
        for node in on_jobs
    ), "the claiming SELECT reads the partial claim index"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM jobs_job WHERE attempted_by[1] = ANY(%s)", [nodes])
        claimed = cursor.fetchone()[0]
    conf = jobs_settings()
    # medical_workflow is partitioned by author (settings): these jobs have none, so they
    # form one partition, which runs at most the partition's limit at once.
    medical = min(
        conf.queue_limit("medical_workflow"),
        conf.queues["medical_workflow"].get("partition", {}).get("limit", 10**6),
    )
    limits = conf.queue_limit("default") + medical
    assert claimed == limits, "the calls claimed up to the limits of the queues with jobs"


def test_the_periodic_maintenance_statements_use_indexes_with_a_million_rows():
    """Staging, rescue and pruning run every few seconds on every node: none may read the
    table. (Queue counts, for the admin, `jobs status` and the 5-minute health check, are
    occasional and count the backlog anyway.)"""
    from workflows.jobs.store import sql

    week = 7 * 86400
    statements = [
        (sql.STAGE, [5000]),
        (sql.RESCUE, [30, 1800]),
        *[(statement, [week, 1000]) for statement in sql.PRUNE.values()],
    ]
    with connection.cursor() as cursor:
        cursor.execute(FILL)
        cursor.execute("ANALYZE jobs_job")
        plans = nested_plans(cursor, statements)
    scans = [
        (node["Node Type"], node.get("Index Name"))
        for plan in plans
        for node in plan_nodes(plan)
        if node.get("Relation Name") == "jobs_job"
    ]
    assert scans and not [scan for scan in scans if scan[0] == "Seq Scan"], scans


def test_a_rate_limited_queue_with_a_thousand_partitions_claims_with_index_scans():
    """A million rows, the email queue's third of them spread over 1,000 authors: the
    partitioned, rate-limited claim visits partitions by the partition index, one round trip."""
    from workflows.jobs import Partition, RateLimit, scale_queue

    sync_queues()
    scale_queue(
        "email",
        8,
        rate_limit=RateLimit(allowed=1000, period_seconds=1),
        partition=Partition(keys=["author_id"], limit=1),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            FILL.replace(
                "'{}', '{}', '{}'", "jsonb_build_object('author_id', (g / 30) % 1000), '{}', '{}'"
            )
        )
        cursor.execute("ANALYZE jobs_job")
        cursor.execute(
            "SELECT count(DISTINCT partition_key) FROM jobs_job "
            "WHERE queue = 'email' AND state = 'available'"
        )
        assert cursor.fetchone()[0] == 1000, "the fill spread the queue over many partitions"
        nodes = [f"plan-partition-node-{i}" for i in range(8)]
        plans = nested_plans(
            cursor,
            [("SELECT jobs_claim(%s, 8, ARRAY['email'], 0)", [node]) for node in nodes],
        )
        cursor.execute(
            "SELECT count(*), count(DISTINCT args->>'author_id') FROM jobs_job "
            "WHERE state = 'executing' AND queue = 'email'"
        )
        claimed, authors = cursor.fetchone()
    on_jobs = [
        node
        for plan in plans
        for node in plan_nodes(plan)
        if node.get("Relation Name") == "jobs_job"
    ]
    assert on_jobs and not [n for n in on_jobs if n["Node Type"] == "Seq Scan"], on_jobs
    assert any(node.get("Index Name") == "jobs_job_partition" for node in on_jobs)
    assert claimed == authors == 8, "the queue's limit, one job per author"


def test_a_node_with_a_long_history_claims_and_completes_without_reading_it():
    """A node that ran 300,000 jobs: counting its free slots in jobs_claim() and writing its
    deferred completions must read only its executing rows, never jobs_job_node_id (one entry
    per job it ever ran; reading it made every claim slower as the node aged)."""
    from workflows.jobs.store import sql

    sync_queues()
    node = "plan-history-node"
    with connection.cursor() as cursor:
        cursor.execute(FILL)
        cursor.execute(
            "UPDATE jobs_job SET attempted_by = ARRAY[%s], attempt = 1, attempted_at = now() "
            "WHERE state = 'completed' AND id %% 2 = 0",
            [node],
        )
        cursor.execute(
            "UPDATE jobs_job SET state = 'executing', attempted_by = ARRAY[%s], attempt = 1, "
            "attempted_at = now() WHERE id IN (SELECT id FROM jobs_job "
            "WHERE state = 'available' AND queue = 'email' LIMIT 3) RETURNING id, attempted_at",
            [node],
        )
        executing = cursor.fetchall()
        cursor.execute("ANALYZE jobs_job")
        completions = {
            "node": node,
            "ids": [row[0] for row in executing],
            "attempts": [1] * len(executing),
            "attempted_at": [row[1] for row in executing],
        }
        # Eight calls each: past plpgsql's and the prepared statement's first five custom
        # plans, to the generic ones a long-running node keeps.
        plans = nested_plans(
            cursor,
            [("SELECT jobs_claim(%s, 8, ARRAY['email'], 0)", [node])] * 8
            + [(sql.COMPLETE_MANY, completions)],
        )
    used = {node.get("Index Name") for plan in plans for node in plan_nodes(plan)}
    assert "jobs_job_node_id" not in used, used
    # PostgreSQL 15 picks the node's partial index, 18 the queue's: both hold executing rows only.
    assert used & {"jobs_job_executing_node", "jobs_job_executing"}, used
