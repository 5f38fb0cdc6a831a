"""Retention policies (data an officer edits in the admin) and the record of each run."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models


class RetentionPolicyKey(models.TextChoices):
    INACTIVE_USERS = "inactive_users", "Users inactive for the period: soft-delete and pseudonymise"
    MEDICAL_POSTS = "medical_posts", "Medical posts older than the period: archive"
    AUDIT_LOG = "audit_log", "Audit log entries older than the period: purge"


class RetentionPolicy(models.Model):
    key = models.CharField(max_length=32, choices=RetentionPolicyKey.choices, unique=True)
    enabled = models.BooleanField(default=True)
    retention_days = models.PositiveIntegerField(validators=[MinValueValidator(365)])
    legal_basis = models.TextField(help_text="The honest basis of the period, shown to auditors.")
    batch_size = models.PositiveIntegerField(default=1000, validators=[MinValueValidator(1)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"
        ordering = ["key"]

    def __str__(self) -> str:
        return self.get_key_display()


class RetentionRun(models.Model):
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    counts = models.JSONField(default=dict, help_text="Rows changed (or due, when dry) per policy.")
    cutoffs = models.JSONField(default=dict)
    errors = models.JSONField(
        default=dict,
        blank=True,
        help_text="Policies that failed in this run: error class and SQLSTATE (no message).",
    )
    batches = models.PositiveIntegerField(default=0)
    longest_batch_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"retention run {self.started_at:%Y-%m-%d %H:%M}"
