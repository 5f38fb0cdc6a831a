"""Writes to posts. Validation of a post is started by `workflows.medical` when it is saved."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_record
from healthcare_cms.content.models import MedicalCategory, Post, WorkflowStatus

CONTENT_FIELDS = ("title", "body")


@transaction.atomic
def post_create(
    *, author, title: str, body: str, medical_category: str = MedicalCategory.NONE
) -> Post:
    post = Post.objects.create(
        author=author,
        title=title,
        body=body,
        medical_category=medical_category,
        workflow_status=WorkflowStatus.DRAFT,
    )
    audit_record(actor=author, action="post.create", obj=post)
    return post


@transaction.atomic
def post_update(*, post: Post, actor, **changes) -> Post:
    """Change a post. A new title or body is a new content version, to be validated again."""
    allowed = {"title", "body", "medical_category"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(
            f"post_update cannot change {', '.join(sorted(unknown))}; "
            f"allowed fields: {', '.join(sorted(allowed))}."
        )
    locked = Post.objects.select_for_update().get(pk=post.pk)
    changed = [field for field, value in changes.items() if getattr(locked, field) != value]
    if not changed:
        return locked
    for field in changed:
        setattr(locked, field, changes[field])
    if any(field in CONTENT_FIELDS for field in changed):
        locked.content_version += 1
        changed.append("content_version")
    locked.save(update_fields=[*changed, "updated_at"])
    audit_record(actor=actor, action="post.update", obj=locked, details={"fields": sorted(changed)})
    return locked


@transaction.atomic
def post_publish(*, post: Post, actor) -> Post:
    if post.workflow_status != WorkflowStatus.APPROVED:
        raise ValueError(
            f"Post {post.pk} cannot be published: its validation status is "
            f"'{post.workflow_status}', and only approved posts may be published."
        )
    post.published_at = timezone.now()
    post.save(update_fields=["published_at", "updated_at"])
    audit_record(
        actor=actor,
        action="post.publish",
        obj=post,
        details={"content_version": post.content_version},
    )
    return post
