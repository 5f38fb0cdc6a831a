"""The cron-slot index behind the web app's jobs_cron_last_slot_timestamp_seconds{worker}:
the newest slot job of a worker is one backward probe, whatever the size of the jobs table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("jobs", "0011_queue_rate_limit_and_partition")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS jobs_job_cron_slot ON jobs_job (worker, id) "
            "WHERE meta ? 'cron_slot'",
            "DROP INDEX IF EXISTS jobs_job_cron_slot",
        )
    ]
