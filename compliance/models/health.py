"""Results of the periodic health check, kept for a week."""

from __future__ import annotations

from django.db import models


class HealthCheckResult(models.Model):
    name = models.CharField(max_length=64, help_text="Which check, e.g. database or analyzer_lgpd.")
    ok = models.BooleanField()
    latency_ms = models.PositiveIntegerField(default=0)
    detail = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-checked_at", "name"]

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'FAILED'}"
