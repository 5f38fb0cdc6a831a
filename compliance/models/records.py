"""Consent records and the append-only audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KT
from django.utils import timezone


class ConsentPurpose(models.TextChoices):
    TERMS_OF_USE = "terms_of_use", "Terms of use and privacy notice"
    HEALTH_DATA = "health_data", "Processing of health data in published content"
    NEWSLETTER = "newsletter", "Newsletter and communications"


class LegalBasis(models.TextChoices):
    # LGPD art. 7 (personal data) and art. 11 (sensitive personal data) bases.
    CONSENT = "art7_i_consent", "Consent (LGPD art. 7 I)"
    LEGAL_OBLIGATION = "art7_ii_legal_obligation", "Legal or regulatory obligation (art. 7 II)"
    CONTRACT = "art7_v_contract", "Performance of a contract (art. 7 V)"
    LEGITIMATE_INTEREST = "art7_ix_legitimate_interest", "Legitimate interest (art. 7 IX)"
    SENSITIVE_CONSENT = "art11_i_specific_consent", "Specific, highlighted consent (art. 11 I)"
    HEALTH_CARE = "art11_ii_f_health_care", "Health care by health professionals (art. 11 II f)"


class Consent(models.Model):
    """One person's consent for one purpose under one version of the terms. Never deleted:
    revoking sets revoked_at, and a new grant is a new record."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consents"
    )
    purpose = models.CharField(max_length=32, choices=ConsentPurpose.choices)
    legal_basis = models.CharField(max_length=40, choices=LegalBasis.choices)
    terms_version = models.CharField(max_length=32)
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "purpose", "terms_version"],
                condition=models.Q(revoked_at__isnull=True),
                name="compliance_consent_one_active_per_version",
            ),
        ]
        indexes = [
            models.Index(fields=["purpose", "terms_version"], name="compliance_consent_terms")
        ]

    def __str__(self) -> str:
        return f"{self.purpose} v{self.terms_version}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditLog(models.Model):
    """Who did what to which object, and when. The database refuses UPDATE, TRUNCATE and DELETE
    on this table (migrations 0002, 0005); only entries past the audit_log retention policy may
    be deleted, through compliance_audit_log_purge (see docs/compliance.md)."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(
        max_length=200, help_text="Who acted, kept even if the user is gone."
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    details = models.JSONField(default=dict, blank=True, help_text="Never holds patient data.")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="compliance_audit_object"),
            # The daily audit matches reads of patient data to the access ledger.
            models.Index(
                KT("details__access_id"),
                name="compliance_audit_access_id",
                condition=models.Q(action="post.read_phi"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type}:{self.object_id}"
