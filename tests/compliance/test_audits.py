"""The daily compliance audit: unlogged access to patient data, CFM status, consent."""

import pytest
from django.utils import timezone

from compliance.access import access_ledger_record
from compliance.audits import compliance_audit_run
from compliance.models import Alert
from healthcare_cms.accounts.roles import Role
from healthcare_cms.content.models import Post
from tests.factories import ConsentFactory, PostFactory, UserFactory
from workflows.jobs import Job
from workflows.medical.models import StageResult

pytestmark = pytest.mark.django_db
LATER = timezone.timedelta(minutes=10)


def _consent_everyone():
    from healthcare_cms.accounts.models import User

    for user in User.objects.all():
        ConsentFactory(user=user)


def test_a_read_through_the_admin_leaves_both_traces_and_raises_nothing(client):
    reviewer = UserFactory(role=Role.MEDICAL_REVIEWER)
    post = PostFactory(phi_detected=True)
    _consent_everyone()
    client.force_login(reviewer)
    assert client.get(f"/admin/content/post/{post.pk}/change/").status_code == 200
    summary = compliance_audit_run(now=timezone.now() + LATER)
    assert summary["unlogged_phi_access"] == 0
    assert not Alert.objects.filter(code="unlogged_phi_access").exists()


def test_a_read_without_its_audit_entry_raises_a_security_alert_once():
    reader = UserFactory()
    post = PostFactory(phi_detected=True)
    _consent_everyone()
    entry = access_ledger_record(user=reader, obj=post, channel="api")  # no audit entry
    compliance_audit_run(now=timezone.now() + LATER)
    compliance_audit_run(now=timezone.now() + LATER)
    alert = Alert.objects.get(code="unlogged_phi_access")
    assert alert.kind == "security" and alert.occurrences == 2
    assert alert.details["access_ids"] == [str(entry.access_id)]
    assert alert.details["post_ids"] == [post.pk]
    assert Job.objects.filter(worker__endswith="EmailWorker").count() == 1, (
        "one e-mail per incident"
    )


def test_a_published_medical_post_without_a_passed_cfm_validation_raises_a_compliance_alert():
    post = PostFactory(medical_category="cardiology", published_at=timezone.now())
    PostFactory(medical_category="none", published_at=timezone.now())
    _consent_everyone()
    compliance_audit_run()
    alert = Alert.objects.get(code="cfm_validation_required")
    assert alert.details["post_ids"] == [post.pk]
    StageResult.objects.create(
        post=post, stage="s41_cfm_validation", content_version=1, analyzer="cfm", outcome="passed"
    )
    compliance_audit_run()
    alert.refresh_from_db()
    assert alert.resolved_at is not None, "the incident ends when the post is validated"


def test_a_post_changed_after_its_validation_counts_as_unvalidated():
    post = PostFactory(medical_category="cardiology", published_at=timezone.now())
    StageResult.objects.create(
        post=post, stage="s41_cfm_validation", content_version=1, analyzer="cfm", outcome="passed"
    )
    Post.objects.filter(pk=post.pk).update(content_version=2)
    _consent_everyone()
    compliance_audit_run()
    assert Alert.objects.get(code="cfm_validation_required").details["post_ids"] == [post.pk]


def test_active_users_without_consent_to_the_current_terms_raise_a_legal_alert(settings):
    settings.CURRENT_TERMS_VERSION = "2026-01"
    consented = UserFactory()
    ConsentFactory(user=consented, terms_version="2026-01")
    old_terms = UserFactory()
    ConsentFactory(user=old_terms, terms_version="2025-01")
    revoked = UserFactory()
    ConsentFactory(user=revoked, terms_version="2026-01", revoked_at=timezone.now())
    UserFactory(is_active=False)
    compliance_audit_run()
    alert = Alert.objects.get(code="missing_lgpd_consent")
    assert alert.kind == "legal"
    assert alert.details["user_ids"] == sorted([old_terms.pk, revoked.pk])
