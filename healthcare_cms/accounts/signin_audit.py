"""Sign-in events written to the compliance audit log (compliance.audit.audit_record).

Entries name the account by id, never by what was typed in the username field (it may be a
mistyped password, or a patient's identifier), and the client by its network and a keyed
digest (healthcare_cms.privacy.addresses), never by its address.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from compliance.audit import audit_record
from healthcare_cms.accounts.models import User
from healthcare_cms.privacy.addresses import client_address_record, keyed_digest


class SigninEvent(models.TextChoices):
    SUCCEEDED = "signin.succeeded", "Signed in with the password"
    FAILED = "signin.failed", "Wrong e-mail or password"
    LOCKED_OUT = "signin.locked_out", "Locked after too many failures"
    REFUSED_LOCKED = "signin.refused_locked", "Refused: account or address locked"
    UNLOCKED = "signin.unlocked", "Lockout lifted by an administrator"
    SECOND_FACTOR_VERIFIED = "signin.second_factor_verified", "Second factor accepted"
    SECOND_FACTOR_FAILED = "signin.second_factor_failed", "Second factor refused"
    SESSION_EXPIRED = "signin.session_expired", "Session ended by its time limit"
    SIGNED_OUT = "signin.signed_out", "Signed out"
    TWO_FACTOR_ENROLLED = "two_factor.enrolled", "Authenticator enrolled"
    TWO_FACTOR_RESET = "two_factor.reset", "Two-factor devices removed"


# Events a signed-in person causes; the others come from someone not (yet) authenticated.
_BY_THE_ACCOUNT = {
    SigninEvent.SUCCEEDED,
    SigninEvent.SECOND_FACTOR_VERIFIED,
    SigninEvent.SECOND_FACTOR_FAILED,
    SigninEvent.SESSION_EXPIRED,
    SigninEvent.SIGNED_OUT,
    SigninEvent.TWO_FACTOR_ENROLLED,
}


def client_address(request: HttpRequest | None) -> str | None:
    """The address django-axes throttles on (it honours TRUSTED_PROXY_COUNT), else REMOTE_ADDR."""
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR")


def account_for_username(username: str | None) -> User | None:
    if not username:
        return None
    return User.objects.filter(email__iexact=username.strip()).first()


def signin_record(
    *,
    event: SigninEvent,
    request: HttpRequest | None = None,
    user: User | None = None,
    username: str | None = None,
    actor: Any = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one sign-in event. `user` is the account concerned; without it, `username` (as
    typed) is resolved to an account, or kept only as a digest that matches repeats."""
    user = user or account_for_username(username)
    entry: dict[str, Any] = {**client_address_record(client_address(request)), **(details or {})}
    if user is None and username:
        entry["unknown_account_key"] = keyed_digest(username.strip().lower(), purpose="username")
    audit_record(
        actor=actor
        if actor is not None
        else (user if user is not None and event in _BY_THE_ACCOUNT else "anonymous"),
        action=event.value,
        object_type="accounts.user",
        object_id=user.pk if user is not None else "",
        details=entry,
    )
