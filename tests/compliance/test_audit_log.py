"""The audit log is append-only in the database itself: no session setting, temporary table
or policy edit lets an entry go before the audit_log retention policy says so."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from compliance.audit import audit_record
from compliance.models import AuditLog, RetentionPolicy
from tests.factories import AuditLogFactory, UserFactory
from tests.support.audit_log import forbid_flush_of_audit_log

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def _refused(sql: str, params=None, match: str = "append-only") -> None:
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def _purge(batch: int = 1000) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM compliance_audit_log_purge(%s) AS id", [batch])
        return sorted(row[0] for row in cursor.fetchall())


def _cutoff(at: datetime) -> datetime | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT compliance_audit_log_cutoff(%s)", [at])
        return cursor.fetchone()[0]


def _set_audit_days(days: int) -> None:
    RetentionPolicy.objects.filter(key="audit_log").update(retention_days=days)


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


def test_truncate_is_refused_by_the_trigger_even_for_the_owner():
    entry = AuditLogFactory()
    forbid_flush_of_audit_log(connection)  # what every production database looks like
    _refused("TRUNCATE compliance_auditlog", match="TRUNCATE refused")
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_a_session_setting_does_not_reopen_truncate():
    entry = AuditLogFactory()
    forbid_flush_of_audit_log(connection)
    with connection.cursor() as cursor:
        cursor.execute("SET compliance.audit_log_truncate_for_tests = on")
    try:
        _refused("TRUNCATE compliance_auditlog", match="TRUNCATE refused")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET compliance.audit_log_truncate_for_tests")
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_the_forged_purge_setting_deletes_nothing():
    """0002 honoured compliance.audit_purge_before; now it is only a string in the session."""
    entry = AuditLogFactory(occurred_at=timezone.now() - 400 * DAY)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('compliance.audit_purge_before', %s, false)",
            [timezone.now().isoformat()],
        )
    try:
        _refused("DELETE FROM compliance_auditlog WHERE id = %s", [entry.pk])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET compliance.audit_purge_before")
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_a_400_day_old_entry_stays_under_the_6_year_policy():
    entry = AuditLogFactory(occurred_at=timezone.now() - 400 * DAY)
    _refused("DELETE FROM compliance_auditlog WHERE id = %s", [entry.pk])
    assert _purge() == []
    assert AuditLog.objects.filter(pk=entry.pk).exists()
    # The same with explicit timestamps: 400 days before 2029-02-28 is far inside 6 years.
    at = datetime(2029, 2, 28, 12, tzinfo=UTC)
    assert _cutoff(at) == at - timedelta(days=6 * 365)
    assert not at - 400 * DAY < _cutoff(at)


def test_the_purge_deletes_exactly_the_entries_past_the_policy():
    expired = AuditLogFactory(occurred_at=timezone.now() - (6 * 365 + 1) * DAY)
    kept = AuditLogFactory(occurred_at=timezone.now() - (6 * 365 - 1) * DAY)
    assert _purge() == [expired.pk]
    assert AuditLog.objects.filter(pk=kept.pk).exists()


def test_a_365_day_policy_purges_across_the_leap_day():
    """Every run from 2028-03-01 to 2029-02-28 has 2028-02-29 in its 365 days: 0002's fixed
    one-year floor (cut-off <= at - interval '1 year') refused those purges."""
    _set_audit_days(365)
    for at, expected in [
        (datetime(2028, 3, 1, 12, tzinfo=UTC), datetime(2027, 3, 2, 12, tzinfo=UTC)),
        (datetime(2029, 2, 28, 12, tzinfo=UTC), datetime(2028, 2, 29, 12, tzinfo=UTC)),
    ]:
        assert _cutoff(at) == expected
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT %s::timestamptz <= %s::timestamptz - interval '1 year'",
                [
                    expected,
                    at,
                ],
            )
            assert cursor.fetchone()[0] is False  # what 0002 refused
    # And the trigger itself, on today's clock: a day past 365 goes, a day short stays.
    gone = AuditLogFactory(occurred_at=timezone.now() - 366 * DAY)
    stays = AuditLogFactory(occurred_at=timezone.now() - 364 * DAY)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditlog WHERE id = %s", [gone.pk])
    _refused("DELETE FROM compliance_auditlog WHERE id = %s", [stays.pk])
    assert not AuditLog.objects.filter(pk=gone.pk).exists()


def test_no_enabled_audit_policy_means_nothing_may_be_deleted():
    entry = AuditLogFactory(occurred_at=timezone.now() - 20 * 365 * DAY)
    RetentionPolicy.objects.filter(key="audit_log").update(enabled=False)
    _refused("DELETE FROM compliance_auditlog WHERE id = %s", [entry.pk])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_retentionpolicy WHERE key = 'audit_log'")
    assert _cutoff(timezone.now()) is None
    assert _purge() == []
    assert AuditLog.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE compliance_retentionpolicy SET retention_days = 1 WHERE key = 'audit_log'",
        "UPDATE compliance_retentionpolicy SET retention_days = 364 WHERE key = 'audit_log'",
        # Delete the policy and bring it back shorter, or rename another one into its place.
        "DELETE FROM compliance_retentionpolicy WHERE key = 'audit_log'; "
        "INSERT INTO compliance_retentionpolicy (key, enabled, retention_days, legal_basis, "
        "batch_size, updated_at) VALUES ('audit_log', true, 1, 'x', 1000, now())",
        "DELETE FROM compliance_retentionpolicy WHERE key = 'audit_log'; "
        "UPDATE compliance_retentionpolicy SET key = 'audit_log', retention_days = 30 "
        "WHERE key = 'inactive_users'",
    ],
)
def test_the_audit_policy_cannot_be_shortened_below_a_year(statement):
    entry = AuditLogFactory(occurred_at=timezone.now() - 400 * DAY)
    _refused(statement, match="at least 365 days")
    assert _purge() == []
    assert AuditLog.objects.filter(pk=entry.pk).exists()
    assert RetentionPolicy.objects.get(key="audit_log").retention_days == 6 * 365


def test_changing_the_audit_policy_leaves_an_entry_nobody_can_remove():
    policy = RetentionPolicy.objects.get(key="audit_log")
    _set_audit_days(7 * 365)
    entry = AuditLog.objects.get(action="retention.audit_policy_changed")
    assert entry.object_id == str(policy.pk)
    assert entry.details["retention_days"] == 7 * 365
    assert entry.details["previous"]["retention_days"] == 6 * 365
    assert entry.actor_label.startswith("database:")
    _refused("DELETE FROM compliance_auditlog WHERE id = %s", [entry.pk])


def test_a_temporary_table_cannot_stand_in_for_the_policy():
    entry = AuditLogFactory(occurred_at=timezone.now() - 400 * DAY)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE compliance_retentionpolicy (key text, enabled bool, "
            "retention_days int) ON COMMIT DROP"
        )
        cursor.execute("INSERT INTO compliance_retentionpolicy VALUES ('audit_log', true, 1)")
    _refused("DELETE FROM compliance_auditlog WHERE id = %s", [entry.pk])
    assert _purge() == []
    assert AuditLog.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_test_databases_flush_still_empties_the_audit_log():
    """pytest-django flushes (TRUNCATEs) every table after this test; the database-level mark
    set in tests/conftest.py is what lets it through. The next transactional test starts empty."""
    from django.core.management import call_command

    AuditLogFactory()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditLog.objects.exists()
    AuditLogFactory()  # and the teardown's own flush empties this one
