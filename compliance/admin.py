"""Admin for consent records and the audit log: evidence, shown read-only."""

from __future__ import annotations

from django.contrib import admin

from compliance.models import AuditLog, Consent


class EvidenceAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(EvidenceAdmin):
    list_display = ("user", "purpose", "legal_basis", "terms_version", "granted_at", "revoked_at")
    list_filter = (
        "purpose",
        "legal_basis",
        "terms_version",
        ("revoked_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("user__email",)


@admin.register(AuditLog)
class AuditLogAdmin(EvidenceAdmin):
    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("=object_id", "actor_label")
    show_full_result_count = False
