from django.apps import AppConfig


class LocalDbConfig(AppConfig):
    name = "healthcare_cms.localdb"
    label = "localdb"
    verbose_name = "Embedded PostgreSQL"
