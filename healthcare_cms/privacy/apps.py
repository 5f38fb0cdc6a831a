from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """No models: installed for its system check (every logging handler masks patient data)."""

    name = "healthcare_cms.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        from healthcare_cms.privacy import checks  # noqa: F401 (registers the check)
