from django.apps import AppConfig


class MedicalConfig(AppConfig):
    name = "workflows.medical"
    label = "medical"
    verbose_name = "Medical validation"
