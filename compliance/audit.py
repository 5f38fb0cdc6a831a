"""Writing the audit log. Every entry names who acted, what they did and to which object."""

from __future__ import annotations

from typing import Any

from django.db import models

from compliance.models.records import AuditLog


def actor_label_for(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return f"user:{actor.pk}"


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one entry. `actor` is a user, a label such as "system:retention", or None."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditLog.objects.create(
        actor=actor if actor is not None and not isinstance(actor, str) else None,
        actor_label=actor_label_for(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
    )
