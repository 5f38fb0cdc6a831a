"""Retention policies: bounded batches, idempotent, recorded, audited; a dry run changes nothing."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from compliance.models import Alert, AuditLog, RetentionPolicy, RetentionRun
from compliance.retention import retention_run
from healthcare_cms.accounts.models import User
from healthcare_cms.content.models import Post
from tests.factories import AuditLogFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db
YEAR = timedelta(days=365)


@pytest.fixture
def old_and_new():
    now = timezone.now()
    stale_user = UserFactory(
        email="gone@example.test", full_name="Gone Person", last_activity_at=now - 6 * YEAR
    )
    never_seen = UserFactory(email="never@example.test", last_activity_at=None)
    User.objects.filter(pk=never_seen.pk).update(date_joined=now - 7 * YEAR)
    active_user = UserFactory(last_activity_at=now - YEAR)
    old_medical = PostFactory(medical_category="cardiology")
    old_plain = PostFactory(medical_category="none")
    new_medical = PostFactory(medical_category="cardiology")
    Post.objects.filter(pk__in=[old_medical.pk, old_plain.pk]).update(created_at=now - 21 * YEAR)
    old_audit = AuditLogFactory(occurred_at=now - 7 * YEAR)
    new_audit = AuditLogFactory(occurred_at=now - 5 * YEAR)
    return locals()


def test_the_default_policies_carry_their_honest_legal_basis():
    policies = {p.key: p for p in RetentionPolicy.objects.all()}
    assert {k: p.retention_days for k, p in policies.items()} == {
        "inactive_users": 5 * 365,
        "medical_posts": 20 * 365,
        "audit_log": 6 * 365,
    }
    assert "Lei 13.787/2018 art. 6" in policies["medical_posts"].legal_basis
    assert "not audit logs" in policies["audit_log"].legal_basis
    assert "Policy choice" in policies["inactive_users"].legal_basis


def test_a_run_applies_each_policy_and_records_what_it_did(old_and_new):
    run = retention_run()
    stale = User.objects.get(pk=old_and_new["stale_user"].pk)
    assert stale.deleted_at and not stale.is_active and not stale.has_usable_password()
    assert stale.email == f"deleted-user-{stale.pk}@pseudonymised.invalid"
    assert stale.full_name == f"Deleted user {stale.pk}" and "Gone" not in stale.full_name
    assert User.objects.get(pk=old_and_new["never_seen"].pk).deleted_at is not None
    assert User.objects.get(pk=old_and_new["active_user"].pk).deleted_at is None
    assert Post.objects.get(pk=old_and_new["old_medical"].pk).archived_at is not None
    assert Post.objects.get(pk=old_and_new["old_plain"].pk).archived_at is None
    assert Post.objects.get(pk=old_and_new["new_medical"].pk).archived_at is None
    assert not AuditLog.objects.filter(pk=old_and_new["old_audit"].pk).exists()
    assert AuditLog.objects.filter(pk=old_and_new["new_audit"].pk).exists()
    assert run.counts == {"inactive_users": 2, "medical_posts": 1, "audit_log": 1}
    assert AuditLog.objects.filter(action="retention.user_pseudonymised", details__count=2).exists()
    assert AuditLog.objects.filter(action="retention.run").exists()


def test_a_second_run_the_same_hour_changes_nothing(old_and_new):
    retention_run()
    again = retention_run()
    assert again.counts == {"inactive_users": 0, "medical_posts": 0, "audit_log": 0}


def test_policies_work_in_bounded_batches():
    RetentionPolicy.objects.update(batch_size=2)
    stale = timezone.now() - 6 * YEAR
    for _ in range(5):
        UserFactory(last_activity_at=stale)
    run = retention_run()
    assert run.counts["inactive_users"] == 5
    batch_entries = AuditLog.objects.filter(action="retention.user_pseudonymised")
    assert sorted(entry.details["count"] for entry in batch_entries) == [1, 2, 2]


def test_a_disabled_policy_is_skipped(old_and_new):
    RetentionPolicy.objects.filter(key="audit_log").update(enabled=False)
    run = retention_run()
    assert "audit_log" not in run.counts
    assert AuditLog.objects.filter(pk=old_and_new["old_audit"].pk).exists()


def test_the_dry_run_command_lists_what_would_change_and_changes_nothing(old_and_new):
    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "inactive_users: 2 row(s)" in text and "medical_posts: 1 row(s)" in text
    assert "audit_log: 1 row(s)" in text and "nothing was changed" in text
    assert User.objects.filter(deleted_at__isnull=False).count() == 0
    assert AuditLog.objects.filter(pk=old_and_new["old_audit"].pk).exists()
    assert not RetentionRun.objects.filter(dry_run=False).exists()


def test_the_command_runs_the_policies(old_and_new):
    out = io.StringIO()
    call_command("retention", stdout=out)
    assert "inactive_users: 2 row(s) changed" in out.getvalue()


def _make_fail(table: str, event: str, message: str) -> None:
    """A real database failure for one policy: a trigger that raises (rolled back with the test)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER test_refuse BEFORE {event} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION pg_temp.test_refuse()"
        )


def _stop_failing(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER test_refuse ON {table}")


def test_a_failing_policy_is_recorded_and_alerted_and_the_others_still_run(old_and_new):
    # audit_log runs first (policies run in key order): before, its failure stopped the rest.
    _make_fail("compliance_auditlog", "DELETE", "disk full at Paciente: Maria Silva 529.982.247-25")
    run = retention_run()
    stale = User.objects.get(pk=old_and_new["stale_user"].pk)
    assert stale.deleted_at is not None and "Gone" not in stale.full_name
    assert Post.objects.get(pk=old_and_new["old_medical"].pk).archived_at is not None
    assert AuditLog.objects.filter(pk=old_and_new["old_audit"].pk).exists()
    assert run.counts == {"inactive_users": 2, "medical_posts": 1, "audit_log": 0}
    assert set(run.errors) == {"audit_log"}
    assert run.errors["audit_log"]["sqlstate"] == "P0001"
    stored = str(RetentionRun.objects.get(pk=run.pk).errors)
    assert "529.982.247-25" not in stored and "Maria" not in stored
    alert = Alert.objects.get(code="retention_policy_failed", incident_key="audit_log")
    assert alert.resolved_at is None and "529" not in str(alert.details)

    _stop_failing("compliance_auditlog")
    again = retention_run()
    assert again.errors == {} and again.counts["audit_log"] == 1
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_a_policy_failing_in_the_middle_does_not_stop_the_next(old_and_new):
    _make_fail("accounts_user", "UPDATE", "refused")
    run = retention_run()
    assert set(run.errors) == {"inactive_users"}
    assert User.objects.get(pk=old_and_new["stale_user"].pk).deleted_at is None
    assert Post.objects.get(pk=old_and_new["old_medical"].pk).archived_at is not None
    assert not AuditLog.objects.filter(pk=old_and_new["old_audit"].pk).exists()


def test_the_audit_purge_uses_the_database_cut_off_whatever_now_the_caller_gives(old_and_new):
    """A caller's `now` far in the future moves the other policies, never the audit log's."""
    run = retention_run(now=timezone.now() + 10 * YEAR)
    assert AuditLog.objects.filter(pk=old_and_new["new_audit"].pk).exists()
    assert run.counts["audit_log"] == 1
