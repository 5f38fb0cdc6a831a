from django.db import migrations, models


class Migration(migrations.Migration):
    """Leadership becomes a lease that expires with the leader's liveness: a session advisory
    lock stayed with a stopped (SIGSTOP) leader, and staging, rescue and pruning stopped for
    the whole cluster."""

    dependencies = [("jobs", "0006_claim_probe_uses_the_claim_index")]

    operations = [
        migrations.CreateModel(
            name="Lease",
            fields=[
                ("name", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("holder", models.CharField(max_length=200)),
                ("expires_at", models.DateTimeField()),
            ],
            options={"db_table": "jobs_lease"},
        ),
    ]
