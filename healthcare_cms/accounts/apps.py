from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "healthcare_cms.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from healthcare_cms.accounts import roles

        post_migrate.connect(roles.sync_role_groups_after_migrate, dispatch_uid="accounts.roles")
