"""Granting and revoking LGPD consent. Revoking keeps the record; nothing here deletes."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_record
from compliance.models.records import Consent


@transaction.atomic
def consent_grant(
    *, user, purpose: str, legal_basis: str, terms_version: str, actor=None
) -> Consent:
    existing = Consent.objects.filter(
        user=user, purpose=purpose, terms_version=terms_version, revoked_at__isnull=True
    ).first()
    if existing:
        return existing
    consent = Consent.objects.create(
        user=user, purpose=purpose, legal_basis=legal_basis, terms_version=terms_version
    )
    audit_record(
        actor=actor or user,
        action="consent.grant",
        obj=consent,
        details={"purpose": purpose, "terms_version": terms_version},
    )
    return consent


@transaction.atomic
def consent_revoke(*, consent: Consent, actor=None) -> Consent:
    if consent.revoked_at is None:
        consent.revoked_at = timezone.now()
        consent.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor or consent.user,
            action="consent.revoke",
            obj=consent,
            details={"purpose": consent.purpose, "terms_version": consent.terms_version},
        )
    return consent
