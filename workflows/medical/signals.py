"""Saving a post starts its validation. The rule lives in services.validation_start."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from healthcare_cms.content.models import Post
from workflows.medical.services import validation_start


@receiver(post_save, sender=Post, dispatch_uid="medical.start_validation_on_save")
def start_validation_on_save(sender, instance: Post, raw: bool = False, **kwargs) -> None:
    if not raw:
        validation_start(post=instance)
