"""Password reset: the request queues an e-mail job; the confirmation is Django's own view."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
from django.views.generic import FormView, TemplateView

from healthcare_cms.accounts.services import password_reset_request
from healthcare_cms.accounts.throttle import client_address


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label="E-mail")


class PasswordResetRequestView(FormView):
    template_name = "registration/password_reset_form.html"
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        # The same redirect whatever happened: queued, no such account, or over the limit.
        password_reset_request(
            email=form.cleaned_data["email"], client_address=client_address(self.request)
        )
        return super().form_valid(form)


class PasswordResetDoneView(TemplateView):
    template_name = "registration/password_reset_done.html"
