"""Alerts (one per incident) and the e-mails they send."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from healthcare_cms.privacy.masking import mask_patient_data


class AlertKind(models.TextChoices):
    SECURITY = "security", "Security"
    COMPLIANCE = "compliance", "Compliance"
    LEGAL = "legal", "Legal"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    INTEGRATION = "integration", "Integration"
    OPERATIONS = "operations", "Operations"


class AlertSeverity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class Alert(models.Model):
    """An ongoing problem. Raising the same problem again while it is open counts an
    occurrence instead of alerting again; resolving it sends a recovery notice."""

    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    code = models.CharField(max_length=64, help_text="What went wrong, e.g. regulator_api_down.")
    incident_key = models.CharField(
        max_length=200,
        default="",
        blank=True,
        help_text="Which thing it concerns, e.g. a queue name.",
    )
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True, help_text="Never holds patient data.")
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "incident_key"],
                condition=models.Q(resolved_at__isnull=True),
                name="compliance_alert_one_open_incident",
            ),
        ]

    def __str__(self) -> str:
        # Shown in admin titles and breadcrumbs; masked again for alerts stored raw before.
        return f"[{self.kind}] {mask_patient_data(self.summary)}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class EmailDelivery(models.Model):
    """One e-mail a job sent: a retry of that job finds it here and does not send again."""

    message_key = models.CharField(max_length=100, unique=True)
    email_type = models.CharField(max_length=32)
    recipients = models.PositiveIntegerField(help_text="How many recipients (addresses not kept).")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name_plural = "e-mail deliveries"

    def __str__(self) -> str:
        return self.message_key
