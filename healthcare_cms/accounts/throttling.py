"""Sign-in throttling: the one module that knows django-axes.

Axes counts failed sign-ins per account and per client address and refuses further attempts
(the right password included) for LOGIN_LOCKOUT_COOLOFF_SECONDS once either reaches
LOGIN_FAILURE_LIMIT. Its handler is extended here so that every success, failure, lockout and
refusal is written to the compliance audit log, and lockouts are lifted through
`lockout_lift`, which audits the unlock.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from healthcare_cms.accounts.signin_audit import SigninEvent, signin_record
from healthcare_cms.privacy.addresses import client_address_record

# Set on the request by the session limits when they end a session, so the sign-out is
# recorded as an expiry with its reason rather than as a sign-out the person asked for.
SIGNOUT_REASON_ATTRIBUTE = "signout_reason"


def cool_off(request: HttpRequest | None = None) -> timedelta:
    """AXES_COOLOFF_TIME: read at each attempt, so a changed setting applies at once."""
    return timedelta(seconds=settings.LOGIN_LOCKOUT_COOLOFF_SECONDS)


def failure_limit(request: HttpRequest | None = None, credentials: dict | None = None) -> int:
    """AXES_FAILURE_LIMIT: failures, per account or per client address, that lock it."""
    return settings.LOGIN_FAILURE_LIMIT


def throttled_username(request: HttpRequest | None, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account an attempt is counted against. E-mail addresses are
    case-insensitive here, so changing the case of an address does not start a new count."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if not value and request is not None:
        value = getattr(request, "POST", {}).get("username")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


class AuditingAxesHandler(AxesDatabaseHandler):
    """Axes' database handler, writing each outcome to the audit log as well."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        # With AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT off, the backend marks the request
        # before refusing it: this attempt was never checked against the password.
        refused = bool(getattr(request, "axes_locked_out", False))
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        username = throttled_username(request, credentials)
        if refused:
            signin_record(event=SigninEvent.REFUSED_LOCKED, request=request, username=username)
            return
        failures = getattr(request, "axes_failures_since_start", None)
        signin_record(
            event=SigninEvent.FAILED,
            request=request,
            username=username,
            details={"failures": failures} if failures is not None else None,
        )
        if getattr(request, "axes_locked_out", False):
            signin_record(
                event=SigninEvent.LOCKED_OUT,
                request=request,
                username=username,
                details={"cooloff_seconds": int(cool_off(request).total_seconds())},
            )

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        super().user_logged_in(sender, request, user, **kwargs)
        signin_record(event=SigninEvent.SUCCEEDED, request=request, user=user)

    def user_logged_out(self, sender, request, user, **kwargs) -> None:
        super().user_logged_out(sender, request, user, **kwargs)
        if user is None:
            return
        reason = getattr(request, SIGNOUT_REASON_ATTRIBUTE, None)
        signin_record(
            event=SigninEvent.SESSION_EXPIRED if reason else SigninEvent.SIGNED_OUT,
            request=request,
            user=user,
            details={"reason": reason} if reason else None,
        )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the admin-styled page saying what happened and what to do."""
    minutes = max(1, round(cool_off(request).total_seconds() / 60))
    context = {
        **admin.site.each_context(request),
        "title": "Sign-in locked",
        "cooloff_minutes": minutes,
        "failure_limit": failure_limit(request, credentials),
    }
    response = TemplateResponse(
        request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
    return response.render()


def lockouts_current() -> QuerySet[AccessAttempt]:
    """Attempts within the cooldown that have reached the failure limit."""
    threshold = timezone.now() - cool_off()
    return AccessAttempt.objects.filter(
        attempt_time__gte=threshold, failures_since_start__gte=failure_limit()
    ).order_by("-attempt_time")


def lockout_lift(
    *, actor: Any, email: str | None = None, address: str | None = None, everything: bool = False
) -> int:
    """Forget the failed attempts of an account (by e-mail), of a client address, or all of
    them, so sign-in is allowed again at once; audited. Returns how many records went."""
    if not (email or address or everything):
        raise ValueError("Say whose lockout to lift: an e-mail, a client address, or everything.")
    if address:
        try:
            ipaddress.ip_address(address.strip())
        except ValueError:
            raise ValueError(
                f"'{address}' is not an IP address; give one such as 203.0.113.7 or 2001:db8::7."
            ) from None
    attempts = AccessAttempt.objects.all()
    if not everything:
        attempts = AccessAttempt.objects.none()
        if email:
            attempts = attempts | AccessAttempt.objects.filter(username=email.strip().lower())
        if address:
            attempts = attempts | AccessAttempt.objects.filter(ip_address=address.strip())
    removed, _ = attempts.delete()
    details: dict[str, Any] = {"attempts_removed": removed, "scope": "all" if everything else ""}
    if address and not everything:
        details.update(client_address_record(address))
    if not everything:
        scopes = (("account", email), ("address", address))
        details["scope"] = "+".join(part for part, given in scopes if given)
    signin_record(
        event=SigninEvent.UNLOCKED,
        username=email if not everything else None,
        actor=actor if actor is not None else "system:access_unlock",
        details=details,
    )
    return removed
