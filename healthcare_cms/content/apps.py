from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "healthcare_cms.content"
    label = "content"
    verbose_name = "Content"
