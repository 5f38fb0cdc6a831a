"""Writes to accounts: create users, change roles, record activity, soft delete."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from healthcare_cms.accounts.models import User
from healthcare_cms.accounts.roles import Role, group_name

ACTIVITY_WRITE_INTERVAL = timedelta(minutes=5)


@transaction.atomic
def user_create(
    *,
    email: str,
    full_name: str = "",
    role: str = Role.AUTHOR,
    password: str | None = None,
    crm: str = "",
) -> User:
    if role == Role.ADMIN:
        user = User.objects.create_superuser(email, password, full_name=full_name, crm=crm)
    else:
        user = User.objects.create_user(email, password, full_name=full_name, role=role, crm=crm)
    user_set_role(user=user, role=role)
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    if role not in Role.values:
        raise ValueError(f"Unknown role '{role}'; choose one of {', '.join(Role.values)}.")
    user.role = role
    user.is_staff = True
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    role_groups = Group.objects.filter(name__startswith="role:")
    user.groups.remove(*role_groups)
    if role != Role.ADMIN:
        group, _ = Group.objects.get_or_create(name=group_name(role))
        user.groups.add(group)
    return user


def user_touch_activity(*, user: User) -> None:
    """Record activity, writing at most once per ACTIVITY_WRITE_INTERVAL."""
    now = timezone.now()
    if user.last_activity_at and now - user.last_activity_at < ACTIVITY_WRITE_INTERVAL:
        return
    User.objects.filter(pk=user.pk).update(last_activity_at=now)
    user.last_activity_at = now


def user_soft_delete(*, user: User) -> User:
    """Mark deleted and deactivate; the row stays for audit. Personal fields are kept."""
    user.deleted_at = user.deleted_at or timezone.now()
    user.is_active = False
    user.save(update_fields=["deleted_at", "is_active"])
    return user


def password_reset_request(*, email: str) -> bool:
    """Queue a password-reset e-mail for an active account with this address. Returns whether
    one was queued; callers must not reveal it (no account enumeration)."""
    from compliance.workers import EmailWorker

    user = User.objects.alive().filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return False
    EmailWorker.enqueue({"email_type": "password_reset", "user_id": user.pk})
    return True
