"""Validation results shown to medical reviewers on each post, with the reasons."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join

from healthcare_cms.content.admin import PostAdmin
from healthcare_cms.content.models import Post
from workflows.medical.models import StageResult


class StageResultInline(admin.TabularInline):
    model = StageResult
    extra = 0
    can_delete = False
    fields = (
        "stage",
        "content_version",
        "outcome",
        "score",
        "reason_list",
        "finding_list",
        "analyzer_label",
        "created_at",
    )
    readonly_fields = fields
    ordering = ("-content_version", "stage")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="reasons")
    def reason_list(self, result: StageResult) -> str:
        return (
            format_html_join("", "<div>{}</div>", ((reason,) for reason in result.reasons)) or "-"
        )

    @admin.display(description="findings (rule, severity, characters, legal reference)")
    def finding_list(self, result: StageResult) -> str:
        return (
            format_html_join(
                "",
                "<div>{} · {} · {}-{} · {}</div>",
                (
                    (
                        f.get("rule"),
                        f.get("severity"),
                        f.get("start"),
                        f.get("end"),
                        f.get("legal_reference") or "",
                    )
                    for f in result.findings
                ),
            )
            or "-"
        )

    @admin.display(description="analyzer")
    def analyzer_label(self, result: StageResult) -> str:
        return f"{result.analyzer} {result.analyzer_version} ({result.analyzer_sha256[:12]})"


admin.site.unregister(Post)


@admin.register(Post)
class ReviewedPostAdmin(PostAdmin):
    inlines = [StageResultInline]
