from django.apps import AppConfig


class MedicalConfig(AppConfig):
    name = "workflows.medical"
    label = "medical"
    verbose_name = "Medical validation"

    def ready(self) -> None:
        from workflows.medical import signals  # noqa: F401  (connects the post-save receiver)
