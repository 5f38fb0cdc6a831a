"""Keeps a signed-in person who owes a second factor out of every page but the two-factor
ones: to enrollment if they have no authenticator yet, to the code page if they have one."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from healthcare_cms.accounts.two_factor import two_factor_enrolled, two_factor_required

# URL names a person may reach before passing the second factor.
OPEN_URL_NAMES = ("two_factor_enroll", "two_factor_verify", "admin:logout", "admin:login")


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not self._is_open(request)
            and two_factor_required(user)
        ):
            name = "two_factor_verify" if two_factor_enrolled(user) else "two_factor_enroll"
            target = reverse(name)
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(target)
        return self.get_response(request)

    @staticmethod
    def _is_open(request: HttpRequest) -> bool:
        path = request.path_info
        if settings.STATIC_URL and path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        return any(path == reverse(name) for name in OPEN_URL_NAMES)
