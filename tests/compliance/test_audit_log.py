"""The audit log is append-only in the database itself."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from compliance.audit import audit_record
from compliance.models import AuditLog
from tests.factories import AuditLogFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_raw_insert_succeeds():
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO compliance_auditlog (occurred_at, actor_label, action, object_type, "
            "object_id, details) VALUES (now(), 'system', 'raw.insert', 'x', '1', '{}')"
        )
    assert AuditLog.objects.filter(action="raw.insert").exists()


def test_a_raw_update_fails():
    entry = AuditLogFactory()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE compliance_auditlog SET action = 'tampered' WHERE id = %s", [entry.pk]
        )
    entry.refresh_from_db()
    assert entry.action == "test.event"


def test_a_raw_delete_fails():
    entry = AuditLogFactory()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM compliance_auditlog WHERE id = %s", [entry.pk])
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_the_orm_cannot_delete_either():
    entry = AuditLogFactory()
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.delete()


def test_the_purge_setting_deletes_only_entries_older_than_its_cut_off():
    old = AuditLogFactory(occurred_at=timezone.now() - timezone.timedelta(days=7 * 365))
    recent = AuditLogFactory()
    cutoff = timezone.now() - timezone.timedelta(days=6 * 365)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('compliance.audit_purge_before', %s, true)", [cutoff.isoformat()]
        )
        cursor.execute("DELETE FROM compliance_auditlog WHERE id = %s", [old.pk])
        with pytest.raises(DatabaseError), transaction.atomic():
            cursor.execute("DELETE FROM compliance_auditlog WHERE id = %s", [recent.pk])
    assert not AuditLog.objects.filter(pk=old.pk).exists()
    assert AuditLog.objects.filter(pk=recent.pk).exists()


def test_a_purge_cut_off_in_the_last_year_deletes_nothing():
    entry = AuditLogFactory(occurred_at=timezone.now() - timezone.timedelta(days=30))
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('compliance.audit_purge_before', %s, true)",
            [timezone.now().isoformat()],
        )
        cursor.execute("DELETE FROM compliance_auditlog WHERE id = %s", [entry.pk])


def test_audit_record_names_actor_action_and_object():
    user = UserFactory()
    entry = audit_record(
        actor=user, action="post.read_phi", object_type="content.post", object_id=5
    )
    assert (entry.actor_label, entry.action, entry.object_id) == (
        f"user:{user.pk}",
        "post.read_phi",
        "5",
    )
