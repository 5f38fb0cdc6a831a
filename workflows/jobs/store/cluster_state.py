"""The cluster's state as the web app's /metrics reports it: one round trip of index-backed
statements, whatever the size of the jobs table (docs/observability.md, docs/benchmarks.md).

- jobs per queue and state: one aggregate over each partial index (available, executing,
  scheduled + retryable, discarded); finished jobs (completed, cancelled) are never read;
- the oldest available job of each queue: one probe of the claim index per priority (0-9);
- the last cron slot of each worker: the newest row of the cron-slot index (migration
  0012_observability).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

QUEUES = """
SELECT q.name, q."limit", q.paused,
       (SELECT extract(epoch FROM now() - min(first.scheduled_at))
          FROM generate_series(0, 9) AS p(priority),
               LATERAL (SELECT j.scheduled_at FROM jobs_job j
                         WHERE j.state = 'available' AND j.queue = q.name
                           AND j.priority = p.priority
                         ORDER BY j.scheduled_at LIMIT 1) AS first)
  FROM jobs_queue q
 ORDER BY q.name
"""
NODES_ALIVE = (
    "SELECT count(*) FROM jobs_node WHERE heartbeat_at >= now() - make_interval(secs => %s)"
)
# One aggregate per partial index (see Job.Meta.indexes): its cost follows the unfinished and
# discarded jobs, never the finished ones, however many the table holds.
COUNTS = """
SELECT queue, 'available', count(*) FROM jobs_job WHERE state = 'available' GROUP BY queue
UNION ALL
SELECT queue, 'executing', count(*) FROM jobs_job WHERE state = 'executing' GROUP BY queue
UNION ALL
SELECT queue, state, count(*) FROM jobs_job WHERE state IN ('scheduled', 'retryable')
 GROUP BY queue, state
UNION ALL
SELECT queue, 'discarded', count(*) FROM jobs_job WHERE state = 'discarded' GROUP BY queue
"""
CRON_LAST_SLOTS = """
SELECT w.worker,
       (SELECT extract(epoch FROM (j.meta ->> 'cron_slot')::timestamptz) FROM jobs_job j
         WHERE j.worker = w.worker AND j.meta ? 'cron_slot'
         ORDER BY j.id DESC LIMIT 1)
  FROM unnest(%s::text[]) AS w(worker)
"""


@dataclass
class QueueState:
    name: str
    limit: int
    paused: bool
    oldest_available_seconds: float
    jobs: dict[str, int] = field(default_factory=dict)


@dataclass
class ClusterState:
    queues: list[QueueState]
    nodes_alive: int
    cron_last_slots: dict[str, float | None]


def read(*, node_dead_after_seconds: float, cron_workers: list[str]) -> ClusterState:
    with connection.cursor() as cursor:
        cursor.execute(QUEUES)
        queues = [
            QueueState(name, limit, paused, float(oldest or 0.0))
            for name, limit, paused, oldest in cursor.fetchall()
        ]
        cursor.execute(COUNTS)
        by_name = {queue.name: queue for queue in queues}
        for name, state, count in cursor.fetchall():
            if name in by_name:
                by_name[name].jobs[state] = count
        cursor.execute(NODES_ALIVE, [node_dead_after_seconds])
        (alive,) = cursor.fetchone()
        slots: dict[str, float | None] = {}
        if cron_workers:
            cursor.execute(CRON_LAST_SLOTS, [cron_workers])
            slots = {w: (float(t) if t is not None else None) for w, t in cursor.fetchall()}
    return ClusterState(queues, alive, slots)
