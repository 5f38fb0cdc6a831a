"""System check: a logging handler without the patient-data mask stops start-up."""

from __future__ import annotations

from django.core import checks

from healthcare_cms.privacy.logging import unmasked_handlers


@checks.register()
def check_logging_masks_patient_data(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"{problem} does not mask patient data.",
            hint="Add the 'mask_patient_data' filter to that handler in settings.LOGGING, or "
            "name the logger in LOGGING with the masked 'console' handler.",
            id="privacy.E001",
        )
        for problem in unmasked_handlers()
    ]
