"""Workers of the topology tests and the chaos soak (JOBS_WORKER_MODULES adds this module)."""

from __future__ import annotations

import time

from django.db import connection

from workflows.jobs import Worker


class NoWriteWorker(Worker):
    """Writes nothing: its outcome goes through the process's own outcome connection (where
    prepared statements would be used on a direct database)."""

    queue = "default"

    def perform(self, job):
        if job.args.get("sleep"):
            time.sleep(job.args["sleep"])


EFFECT_TABLE = """
CREATE TABLE IF NOT EXISTS topology_effects (
  id bigserial PRIMARY KEY, job_id bigint NOT NULL, attempt int NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""


class EffectWorker(Worker):
    """A transactional job with one effect: a row written in the job's own transaction, so it
    exists once per committed attempt. args: sleep (s), fail_first (attempts that raise),
    snoozes (times it snoozes 1 s first)."""

    queue = "default"
    max_attempts = 20

    def perform(self, job):
        from workflows.jobs import Snooze

        if job.args.get("sleep"):
            time.sleep(job.args["sleep"])
        if job.attempt <= job.args.get("fail_first", 0):
            raise RuntimeError(f"planned failure on attempt {job.attempt}")
        if job.meta.get("snoozed", 0) < job.args.get("snoozes", 0):
            return Snooze(1)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO topology_effects (job_id, attempt) VALUES (%s, %s)",
                [job.pk, job.attempt],
            )
        return None

    def backoff(self, job):
        return 1
