"""Retention policies: bounded batches, idempotent, recorded, audited; a dry run changes nothing."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from compliance.models import AuditLog, RetentionPolicy, RetentionRun
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
