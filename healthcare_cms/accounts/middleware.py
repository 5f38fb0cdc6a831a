"""Keep each signed-in user's last activity time current (used by the retention policy)."""

from __future__ import annotations

from healthcare_cms.accounts.services import user_touch_activity


class LastActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_touch_activity(user=user)
        return response
