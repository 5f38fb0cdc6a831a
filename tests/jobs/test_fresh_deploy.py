"""A fresh deploy works right after `migrate`: the queues defined in settings and the
crontab's schedules exist before any node has started."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from django.db import connection

from tests.support.commands import manage_py
from workflows.jobs import check_queue, pause_queue, resume_queue, scale_queue
from workflows.jobs.api.queues import queues_overview
from workflows.jobs.conf import jobs_settings
from workflows.jobs.models import Queue

CHECK_EVERY_QUEUE = """
from workflows.jobs import check_queue, pause_queue, resume_queue, scale_queue
from workflows.jobs.conf import jobs_settings
from django_q.models import Schedule
for name in jobs_settings().queue_names:
    scale_queue(name, 2); pause_queue(name); resume_queue(name)
    assert check_queue(name)["limit"] == 2, name
print("queues ok", len(jobs_settings().queue_names))
print("schedules", Schedule.objects.filter(schedule_type=Schedule.CRON).count())
"""


@pytest.fixture
def fresh_database_url():
    """A database of its own on the test server, dropped afterwards."""
    connection.ensure_connection()
    settings = connection.settings_dict
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    host = settings["HOST"] or "localhost"
    if host.startswith("/"):
        url = f"postgresql://{settings['USER']}@/{name}?host={host}&port={settings['PORT']}"
    else:
        url = f"postgresql://{settings['USER']}@{host}:{settings['PORT'] or 5432}/{name}"
    yield url
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


@pytest.mark.django_db(transaction=True)
def test_after_migrate_alone_every_queue_can_be_scaled_paused_and_checked(fresh_database_url):
    env = {**os.environ, "DATABASE_URL": fresh_database_url}
    migrated = manage_py("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    result = manage_py("shell", "-c", CHECK_EVERY_QUEUE, env=env)
    assert result.returncode == 0, result.stderr
    assert f"queues ok {len(jobs_settings().queue_names)}" in result.stdout
    assert f"schedules {len(jobs_settings().crontab)}" in result.stdout


@pytest.mark.django_db
def test_a_queue_in_settings_without_a_row_is_created_on_first_use():
    Queue.objects.all().delete()
    scale_queue("email", 3)
    assert check_queue("email")["limit"] == 3
    Queue.objects.filter(name="default").delete()
    pause_queue("default")
    resume_queue("default")
    assert Queue.objects.filter(name="default", paused=False).exists()


@pytest.mark.django_db
def test_a_queue_no_longer_in_settings_is_kept_and_shown_as_retired(client, django_user_model):
    Queue.objects.create(name="old_reports", limit=2, configured_limit=2)
    rows = {row["name"]: row for row in queues_overview()}
    assert rows["old_reports"]["retired"] and not rows["email"]["retired"]
    admin = django_user_model.objects.create_superuser(email="ops@example.com", password="x")
    client.force_login(admin)
    page = client.get("/admin/jobs/queue/").content.decode()
    assert "old_reports" in page and "retired" in page
    for name in jobs_settings().queue_names:
        assert name in page
