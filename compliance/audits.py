"""The daily compliance audit: three checks, each raising (or resolving) its alert."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from compliance.alerts import alert_raise, alert_resolve
from compliance.models import (
    AccessLedgerEntry,
    AlertKind,
    AlertSeverity,
    AuditLog,
    Consent,
    ConsentPurpose,
)

LOOKBACK = timedelta(days=2)  # overlapping windows: an access is checked on two runs
GRACE = timedelta(minutes=5)  # a read in flight has not written its audit entry yet
MAX_IDS_IN_DETAILS = 100


def unlogged_phi_access(*, now: datetime) -> list[AccessLedgerEntry]:
    """Reads of patient data served without the matching audit-log entry."""
    audited = (
        AuditLog.objects.filter(action="post.read_phi")
        .annotate(access_id_text=KT("details__access_id"))
        .filter(access_id_text=OuterRef("access_id_text"))
    )
    return list(
        AccessLedgerEntry.objects.filter(
            occurred_at__gte=now - LOOKBACK, occurred_at__lt=now - GRACE
        )
        .annotate(access_id_text=Cast("access_id", TextField()))
        .annotate(audited=Exists(audited))
        .filter(audited=False)
        .order_by("occurred_at")
    )


def medical_posts_without_current_cfm_validation() -> list[int]:
    """Published medical posts whose current content never passed CFM validation."""
    from healthcare_cms.content.models import Post
    from workflows.medical.models import Stage, StageOutcome, StageResult

    passed = StageResult.objects.filter(
        post=OuterRef("pk"),
        stage=Stage.CFM,
        outcome=StageOutcome.PASSED,
        content_version=OuterRef("content_version"),
    )
    return list(
        Post.objects.filter(published_at__isnull=False, archived_at__isnull=True)
        .exclude(medical_category="none")
        .annotate(validated=Exists(passed))
        .filter(validated=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def users_without_current_consent() -> list[int]:
    from healthcare_cms.accounts.models import User

    consent = Consent.objects.filter(
        user=OuterRef("pk"),
        purpose=ConsentPurpose.TERMS_OF_USE,
        terms_version=settings.CURRENT_TERMS_VERSION,
        revoked_at__isnull=True,
    )
    return list(
        User.objects.alive()
        .filter(is_active=True)
        .annotate(consented=Exists(consent))
        .filter(consented=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _ids(values: list[Any]) -> list[Any]:
    return values[:MAX_IDS_IN_DETAILS]


def compliance_audit_run(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    unlogged = unlogged_phi_access(now=now)
    if unlogged:
        alert_raise(
            kind=AlertKind.SECURITY,
            code="unlogged_phi_access",
            severity=AlertSeverity.CRITICAL,
            summary=f"{len(unlogged)} read(s) of patient data without an audit-log entry",
            details={
                "count": len(unlogged),
                "access_ids": _ids([str(entry.access_id) for entry in unlogged]),
                "post_ids": _ids(sorted({int(e.object_id) for e in unlogged})),
            },
        )
    else:
        alert_resolve(code="unlogged_phi_access")
    stale = medical_posts_without_current_cfm_validation()
    if stale:
        alert_raise(
            kind=AlertKind.COMPLIANCE,
            code="cfm_validation_required",
            summary=f"{len(stale)} published medical post(s) without a passed CFM validation "
            f"of their current content",
            details={"count": len(stale), "post_ids": _ids(stale)},
        )
    else:
        alert_resolve(code="cfm_validation_required")
    without_consent = users_without_current_consent()
    if without_consent:
        alert_raise(
            kind=AlertKind.LEGAL,
            code="missing_lgpd_consent",
            severity=AlertSeverity.CRITICAL,
            summary=f"{len(without_consent)} active user(s) without consent to terms version "
            f"{settings.CURRENT_TERMS_VERSION}",
            details={
                "count": len(without_consent),
                "user_ids": _ids(without_consent),
                "terms_version": settings.CURRENT_TERMS_VERSION,
            },
        )
    else:
        alert_resolve(code="missing_lgpd_consent")
    return {
        "unlogged_phi_access": len(unlogged),
        "cfm_validation_required": len(stale),
        "missing_lgpd_consent": len(without_consent),
    }
