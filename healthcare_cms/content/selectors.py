"""Reads of posts. Reading a post that holds patient data is recorded in the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from compliance.audit import audit_record
from healthcare_cms.content.models import Post


def post_list_visible_to(*, user) -> QuerySet[Post]:
    posts = Post.objects.select_related("author")
    if user.is_superuser or user.has_perm("content.review_post"):
        return posts
    return posts.filter(author=user)


def post_read(*, post: Post, actor, channel: str, access_id: str = "") -> Post:
    """Return the post for reading; audit it when it holds patient data."""
    if post.phi_detected:
        audit_record(
            actor=actor,
            action="post.read_phi",
            obj=post,
            details={
                "channel": channel,
                "access_id": access_id,
                "content_version": post.content_version,
            },
        )
    return post
