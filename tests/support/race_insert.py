"""Run as a separate process: wait at a database barrier, then insert one unique job.

    python -m tests.support.race_insert BARRIER_KEY '{"args": {...}}'

Prints `<job id> <conflict>`; the test's DATABASE_URL and env select the database.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcare_cms.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from tests.support.workers import RecordingWorker
    from workflows.jobs import Unique

    barrier = int(sys.argv[1])
    spec = json.loads(sys.argv[2])
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Blocks until the test releases its exclusive lock: every process starts together.
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [barrier])
        job = RecordingWorker.enqueue(spec["args"], unique=Unique(period=spec.get("period", 60)))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.2)")  # hold the transaction open: widen the race
    print(job.pk, job.conflict, flush=True)


if __name__ == "__main__":
    main()
