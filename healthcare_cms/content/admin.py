"""Admin for posts: authors write and see their own; reviewers and the DPO see all.

Saving goes through the content services; opening a post that holds patient data is
recorded in the audit log (and the access ledger) by `post_read`.
"""

from __future__ import annotations

from django.contrib import admin

from compliance.access import access_ledger_record
from healthcare_cms.content import selectors, services
from healthcare_cms.content.models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "author",
        "medical_category",
        "workflow_status",
        "phi_detected",
        "lgpd_risk_score",
        "updated_at",
    )
    list_filter = ("workflow_status", "medical_category", "phi_detected")
    search_fields = ("title",)
    readonly_fields = (
        "author",
        "phi_detected",
        "lgpd_risk_score",
        "workflow_status",
        "content_version",
        "published_at",
        "archived_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("title", "body", "medical_category")}),
        (
            "Compliance",
            {"fields": ("workflow_status", "phi_detected", "lgpd_risk_score", "content_version")},
        ),
        (
            "History",
            {"fields": ("author", "created_at", "updated_at", "published_at", "archived_at")},
        ),
    )

    def get_queryset(self, request):
        return selectors.post_list_visible_to(user=request.user)

    def get_object(self, request, object_id, from_field=None):
        post = super().get_object(request, object_id, from_field)
        if post is not None and request.method == "GET" and post.phi_detected:
            # Two traces of every read of patient data: the ledger, here where the request is
            # served, and the audit log, written by the service. The daily audit compares them.
            access = access_ledger_record(
                user=request.user, obj=post, channel="admin", path=request.path
            )
            selectors.post_read(
                post=post, actor=request.user, channel="admin", access_id=str(access.access_id)
            )
        return post

    def save_model(self, request, obj: Post, form, change: bool) -> None:
        if change:
            changes = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in {"title", "body", "medical_category"}
            }
            saved = services.post_update(post=obj, actor=request.user, **changes)
        else:
            saved = services.post_create(
                author=request.user,
                title=obj.title,
                body=obj.body,
                medical_category=obj.medical_category,
            )
        obj.pk = saved.pk
        obj.__dict__.update(saved.__dict__)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # medical content is archived by the retention policy, not deleted
