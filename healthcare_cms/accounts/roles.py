"""Roles and what each may do in the admin, as data: one Django group per role."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    AUTHOR = "author", "Author"
    MEDICAL_REVIEWER = "medical_reviewer", "Medical reviewer"
    DATA_PROTECTION_OFFICER = "dpo", "Data protection officer"
    OPERATIONS = "operations", "Operations"
    ADMIN = "admin", "Administrator"


# "app_label.codename" of each permission a role grants. Permissions of apps that are not
# installed are skipped; the groups are re-synced after every migrate.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.AUTHOR: (
        "content.view_post",
        "content.add_post",
        "content.change_post",
    ),
    Role.MEDICAL_REVIEWER: (
        "content.view_post",
        "content.change_post",
        "content.review_post",
        "medical.view_stageresult",
    ),
    Role.DATA_PROTECTION_OFFICER: (
        "accounts.view_user",
        "content.view_post",
        "content.review_post",
        "compliance.view_consent",
        "compliance.view_auditlog",
        "compliance.view_alert",
        "compliance.change_alert",
        "compliance.view_retentionpolicy",
        "compliance.change_retentionpolicy",
        "compliance.view_retentionrun",
        "compliance.view_accessledgerentry",
        "compliance.view_report",
        "compliance.view_healthcheckresult",
        "medical.view_stageresult",
        # Investigating a data incident: jobs and their raw args (each view audited).
        "jobs.view_job",
        "jobs.view_deadletter",
        "jobs.view_job_args",
    ),
    # Runs the queues without seeing patient data: job args and meta show masked values.
    Role.OPERATIONS: (
        "jobs.view_job",
        "jobs.retry_job",
        "jobs.cancel_job",
        "jobs.view_deadletter",
        "jobs.view_queue",
        "jobs.change_queue",
        "jobs.pause_queue",
        "jobs.scale_queue",
        "jobs.view_node",
        "compliance.view_alert",
        "compliance.change_alert",
        "compliance.view_healthcheckresult",
        "compliance.view_report",
    ),
    Role.ADMIN: (),  # administrators are superusers
}


def group_name(role: str) -> str:
    return f"role:{role}"


def sync_role_groups() -> None:
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name(role))
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def sync_role_groups_after_migrate(sender, **kwargs) -> None:
    """Connected to post_migrate: the last app's signal sees every permission."""
    using = kwargs.get("using", "default")
    if using != "default":
        return
    sync_role_groups()
