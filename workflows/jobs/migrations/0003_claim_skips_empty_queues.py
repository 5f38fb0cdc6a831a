from django.db import migrations

from workflows.jobs import sql


class Migration(migrations.Migration):
    """jobs_claim() skips queues with no available job before taking their lock."""

    dependencies = [("jobs", "0002_engine_sql")]

    operations = [migrations.RunSQL(sql.CLAIM_FUNCTION, reverse_sql=migrations.RunSQL.noop)]
