"""The access ledger: written where a request reading patient data is served.

The audit log is written by the content service; the daily compliance audit checks that every
ledger entry has its audit entry (the same access_id), so a read path that skips the service
shows up as unlogged access.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AccessLedgerEntry(models.Model):
    access_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    channel = models.CharField(max_length=32)
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = "access ledger entry"
        verbose_name_plural = "access ledger"

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id} read via {self.channel}"
