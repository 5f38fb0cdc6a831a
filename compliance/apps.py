from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance import db_roles  # registers the database role check

        post_migrate.connect(db_roles.report_after_migrate, sender=self)
