"""Admin for compliance records: evidence is read-only; policies are data the DPO edits;
alerts are acknowledged through the alerts service."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from compliance.alerts import alert_acknowledge
from compliance.charts import bar_chart
from compliance.models import (
    AccessLedgerEntry,
    Alert,
    AuditLog,
    Consent,
    HealthCheckResult,
    Report,
    RetentionPolicy,
    RetentionRun,
)
from healthcare_cms.privacy.masking import mask_patient_data
from healthcare_cms.privacy.scrubbing import scrub_value


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


@admin.register(AccessLedgerEntry)
class AccessLedgerAdmin(EvidenceAdmin):
    list_display = ("occurred_at", "user", "object_type", "object_id", "channel", "access_id")
    list_filter = ("channel", "object_type")
    show_full_result_count = False


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ("key", "enabled", "retention_days", "batch_size", "updated_at")
    fields = ("key", "enabled", "retention_days", "batch_size", "legal_basis", "updated_at")
    readonly_fields = ("key", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RetentionRun)
class RetentionRunAdmin(EvidenceAdmin):
    list_display = (
        "started_at",
        "finished_at",
        "dry_run",
        "counts",
        "errors",
        "batches",
        "longest_batch_ms",
    )
    list_filter = ("dry_run",)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "severity",
        "masked_summary",
        "occurrences",
        "resolved_at",
        "acknowledged_at",
    )
    list_filter = (
        "kind",
        "severity",
        ("resolved_at", admin.EmptyFieldListFilter),
        ("acknowledged_at", admin.EmptyFieldListFilter),
    )
    fields = (
        "kind",
        "severity",
        "code",
        "incident_key",
        "masked_summary",
        "pretty_details",
        "occurrences",
        "created_at",
        "last_seen_at",
        "resolved_at",
        "acknowledged_by",
        "acknowledged_at",
    )
    readonly_fields = fields
    actions = ("acknowledge",)

    @admin.display(description="details")
    def pretty_details(self, alert: Alert) -> str:
        # Masked when stored (alert_raise); masked again for alerts stored before that.
        details = scrub_value(alert.details)
        return format_html("<pre>{}</pre>", json.dumps(details, indent=2, ensure_ascii=False))

    @admin.display(description="summary")
    def masked_summary(self, alert: Alert) -> str:
        return mask_patient_data(alert.summary)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and request.user.has_perm("compliance.change_alert")

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge(self, request, queryset) -> None:
        count = 0
        for alert in queryset.filter(acknowledged_at__isnull=True):
            alert_acknowledge(alert=alert, user=request.user)
            count += 1
        self.message_user(request, f"{count} alert(s) acknowledged.", messages.SUCCESS)


@admin.register(HealthCheckResult)
class HealthCheckResultAdmin(EvidenceAdmin):
    list_display = ("checked_at", "name", "ok", "latency_ms", "detail")
    list_filter = ("name", "ok")


@admin.register(Report)
class ReportAdmin(EvidenceAdmin):
    list_display = ("kind", "period_start", "period_end", "generated_at")
    list_filter = ("kind",)
    change_form_template = "admin/compliance/report/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if report is not None:
            data = report.data
            jobs = data.get("jobs_by_queue", {})
            extra.update(
                report_data=data,
                cfm_chart=bar_chart(
                    data.get("cfm_findings_by_rule", {}), title="CFM findings by rule"
                ),
                jobs_chart=bar_chart(
                    {queue: counts.get("completed", 0) for queue, counts in jobs.items()},
                    title="Jobs completed per queue",
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)
