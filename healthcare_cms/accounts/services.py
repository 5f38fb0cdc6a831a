"""Writes to accounts: create users, change roles, record activity, soft delete."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from healthcare_cms.accounts.models import User
from healthcare_cms.accounts.roles import Role, group_name

ACTIVITY_WRITE_INTERVAL = timedelta(minutes=5)
# Alerts (priority 0) on the shared e-mail queue are always claimed before reset e-mails.
PASSWORD_RESET_EMAIL_PRIORITY = 5


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


def password_reset_request(*, email: str, client_address: str = "") -> bool:
    """Queue a password-reset e-mail for an active account with this address. Returns whether
    this call queued one; callers must not reveal it (no account enumeration).

    Nothing is queued once the client made more than PASSWORD_RESET_CLIENT_LIMIT requests in
    its window (counted before the account is looked up, so every address costs the same), nor
    while the account already has a reset e-mail from the last PASSWORD_RESET_EMAIL_PERIOD_SECONDS
    (a unique job). Reset e-mails go behind alerts on the shared e-mail queue (lower priority)."""
    from compliance.workers import EmailWorker
    from healthcare_cms.accounts.throttle import password_reset_allowed
    from workflows.jobs import Unique

    if not password_reset_allowed(address=client_address):
        return False
    user = User.objects.alive().filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return False
    job = EmailWorker.enqueue(
        {"email_type": "password_reset", "user_id": user.pk},
        priority=PASSWORD_RESET_EMAIL_PRIORITY,
        unique=Unique(
            period=settings.PASSWORD_RESET_EMAIL_PERIOD_SECONDS, keys=("email_type", "user_id")
        ),
    )
    return not job.conflict
