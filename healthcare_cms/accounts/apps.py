from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "healthcare_cms.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from healthcare_cms.accounts import roles, session_limits

        post_migrate.connect(roles.sync_role_groups_after_migrate, dispatch_uid="accounts.roles")
        user_logged_in.connect(
            session_limits.session_stamp_sign_in, dispatch_uid="accounts.session_limits"
        )
