"""The admin's queue change form with the engine's own limit validation: limit 0 or -5 gives
the CLI's message, not a constraint's name or a field's generic one."""

from __future__ import annotations

from django import forms

from workflows.jobs.api.queues import check_queue_limit
from workflows.jobs.models import Queue
from workflows.jobs.policy.errors import JobValidationError


class QueueLimitForm(forms.ModelForm):
    limit = forms.IntegerField(help_text=Queue._meta.get_field("limit").help_text)

    class Meta:
        model = Queue
        fields = ("limit", "paused")

    def clean_limit(self) -> int:
        try:
            return check_queue_limit(self.cleaned_data["limit"])
        except JobValidationError as error:
            raise forms.ValidationError(str(error)) from None
