"""Weekly and monthly compliance reports, stored."""

from __future__ import annotations

from django.db import models


class ReportKind(models.TextChoices):
    WEEKLY = "weekly", "Weekly report"
    MONTHLY = "monthly", "Monthly audit"


class Report(models.Model):
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    period_start = models.DateTimeField(help_text="UTC; shown in America/Sao_Paulo time.")
    period_end = models.DateTimeField()
    generated_at = models.DateTimeField(auto_now=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-period_start", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start"], name="compliance_one_report_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start:%Y-%m-%d}"
