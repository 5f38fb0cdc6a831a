from django.db import migrations

from workflows.jobs import sql


class Migration(migrations.Migration):
    """jobs_claim() also reports the headroom and limits of the queues with waiting jobs."""

    dependencies = [("jobs", "0004_claim_async_commit")]

    operations = [migrations.RunSQL(sql.CLAIM_FUNCTION, reverse_sql=migrations.RunSQL.noop)]
