from django.db import migrations

from workflows.jobs import sql


class Migration(migrations.Migration):
    """jobs_claim() commits without waiting for the disk and reports the node's free slots."""

    dependencies = [("jobs", "0003_claim_skips_empty_queues")]

    operations = [migrations.RunSQL(sql.CLAIM_FUNCTION, reverse_sql=migrations.RunSQL.noop)]
