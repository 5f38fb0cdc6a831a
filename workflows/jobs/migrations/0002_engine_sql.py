from django.db import migrations

from workflows.jobs import sql


class Migration(migrations.Migration):
    """The engine's functions and triggers (claim, stage, rescue, NOTIFY, unique-key release)."""

    dependencies = [("jobs", "0001_initial")]

    operations = [migrations.RunSQL(sql.INSTALL, reverse_sql=sql.UNINSTALL)]
