"""The access ledger: recorded where a request that reads patient data is served."""

from __future__ import annotations

from compliance.models import AccessLedgerEntry


def access_ledger_record(*, user, obj, channel: str, path: str = "") -> AccessLedgerEntry:
    return AccessLedgerEntry.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        channel=channel,
        path=path[:300],
    )
