"""The two-factor pages: enroll an authenticator (QR code, then a code from the app, then the
recovery codes, shown once) and give a code after the password. Thin: they call
healthcare_cms.accounts.two_factor."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login

from healthcare_cms.accounts import two_factor

ENROLL_TEMPLATE = "accounts/two_factor_enroll.html"
VERIFY_TEMPLATE = "accounts/two_factor_verify.html"
CODES_TEMPLATE = "accounts/two_factor_recovery_codes.html"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url("admin:index")


def _render(request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "title": title, "next": _next_url(request), **context},
    )


@login_required(login_url="admin:login")
def enroll(request: HttpRequest) -> HttpResponse:
    user = request.user
    if two_factor.two_factor_enrolled(user) and not user.is_verified():
        # Replacing an authenticator needs the current one first.
        return HttpResponseRedirect(resolve_url("two_factor_verify"))
    device = two_factor.totp_enrollment_device(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.totp_enrollment_confirm(
            user=user, device=device, token=form.cleaned_data["code"]
        )
        if codes is not None:
            otp_login(request, device)
            return _render(request, CODES_TEMPLATE, "Your recovery codes", codes=codes)
        form.add_error(
            "code",
            "That code does not match. Check that the app shows the account just added and that "
            "this device's clock is right, then type the current 6-digit code.",
        )
    return _render(
        request,
        ENROLL_TEMPLATE,
        "Set up two-factor sign-in",
        form=form,
        qr_svg=two_factor.totp_qr_svg(device),
        secret=two_factor.totp_secret_base32(device),
        required=two_factor.two_factor_required(user),
    )


@login_required(login_url="admin:login")
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not two_factor.two_factor_enrolled(user):
        return HttpResponseRedirect(resolve_url("two_factor_enroll"))
    if user.is_verified():
        return HttpResponseRedirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor.second_factor_check(
            user=user, token=form.cleaned_data["code"], request=request
        )
        if device is not None:
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error(
            "code",
            "That code was not accepted. Type the current code from your authenticator app, or "
            "one of your unused recovery codes. After several wrong codes, each new try must "
            "wait longer.",
        )
    return _render(request, VERIFY_TEMPLATE, "Two-factor sign-in", form=form)
