"""The recorded result of a job (Worker.record): one nullable jsonb column, no SQL functions."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0009_job_view_args_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="result",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
