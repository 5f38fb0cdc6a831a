"""Session limits: a signed-in session ends after SESSION_IDLE_TIMEOUT_SECONDS without a
request and SESSION_ABSOLUTE_LIFETIME_SECONDS after sign-in, whatever the activity; and every
session of a user can be ended at once (`user_sessions_end`), e.g. on a two-factor reset.

A password change ends the user's other sessions through Django's session hash; raising
User.session_generation does the same without a password change.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.db.models import F
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from healthcare_cms.accounts.models import User
from healthcare_cms.accounts.throttling import SIGNOUT_REASON_ATTRIBUTE

STARTED_AT_KEY = "_session_started_at"  # Unix seconds of the sign-in
SEEN_AT_KEY = "_session_seen_at"  # Unix seconds of the latest request
# The last-seen time is written when it moved by this share of the idle timeout (at most a
# minute): the limit stays exact to that margin without a session write on every request.
SEEN_WRITE_FRACTION = 0.05
SEEN_WRITE_MAX_SECONDS = 60.0


def user_sessions_end(*, user: User) -> None:
    """End every session of the user at their next request (their session hash changes)."""
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])


def session_stamp_sign_in(sender, request, user, **kwargs) -> None:
    """Connected to user_logged_in: the absolute lifetime counts from here."""
    now = time.time()
    request.session[STARTED_AT_KEY] = now
    request.session[SEEN_AT_KEY] = now


def session_expiry_reason(session, *, now: float) -> str | None:
    """'idle' or 'lifetime' if this session is past a limit, else None. Pure: no writes."""
    started = session.get(STARTED_AT_KEY)
    seen = session.get(SEEN_AT_KEY)
    if started is None or seen is None:
        return None
    if now - float(started) > settings.SESSION_ABSOLUTE_LIFETIME_SECONDS:
        return "lifetime"
    if now - float(seen) > settings.SESSION_IDLE_TIMEOUT_SECONDS:
        return "idle"
    return None


class SessionLimitsMiddleware:
    """Ends a session past its limits with a message saying why; keeps last-seen current."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            if STARTED_AT_KEY not in request.session:
                # Signed in before the limits were deployed: count from now.
                request.session[STARTED_AT_KEY] = now
                request.session[SEEN_AT_KEY] = now
            reason = session_expiry_reason(request.session, now=now)
            if reason is not None:
                return self._end(request, reason)
            interval = min(
                SEEN_WRITE_MAX_SECONDS, settings.SESSION_IDLE_TIMEOUT_SECONDS * SEEN_WRITE_FRACTION
            )
            if now - float(request.session[SEEN_AT_KEY]) >= interval:
                request.session[SEEN_AT_KEY] = now
        return self.get_response(request)

    def _end(self, request: HttpRequest, reason: str) -> HttpResponseRedirect:
        setattr(request, SIGNOUT_REASON_ATTRIBUTE, reason)
        logout(request)
        if reason == "idle":
            minutes = max(1, round(settings.SESSION_IDLE_TIMEOUT_SECONDS / 60))
            text = f"Your session ended after {minutes} minute(s) without activity."
        else:
            hours = max(1, round(settings.SESSION_ABSOLUTE_LIFETIME_SECONDS / 3600))
            text = f"Your session reached its {hours}-hour limit."
        messages.warning(request, f"{text} Sign in again to continue.")
        target = reverse("admin:login")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(target)
