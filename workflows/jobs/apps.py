from __future__ import annotations

import importlib
import importlib.util

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def discover_workers() -> list[str]:
    """Import each installed app's `workers` module (and JOBS['worker_modules']), so every
    Worker subclass is registered before any job row is read."""
    from workflows.jobs.conf import jobs_settings

    modules = []
    for config in apps.get_app_configs():
        name = f"{config.name}.workers"
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            modules.append(name)
    modules.extend(jobs_settings().worker_modules)
    for name in modules:
        importlib.import_module(name)
    return modules


def create_queues_and_schedules(sender=None, using: str = "default", **kwargs) -> None:
    """After `migrate`, every queue defined in settings and every crontab schedule exists, so
    a fresh deploy can pause, scale and inspect queues before any node has started (nodes
    still sync both when they start)."""
    from workflows.jobs.api.queues import sync_queues
    from workflows.jobs.runner.schedules import sync_schedules

    if using != "default":
        return
    sync_queues()
    sync_schedules()


class JobsConfig(AppConfig):
    name = "workflows.jobs"
    label = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflows.jobs import checks  # noqa: F401  (registers the system checks)

        discover_workers()
        post_migrate.connect(create_queues_and_schedules, sender=self, dispatch_uid="jobs.sync")
        from workflows.jobs.runner.admin import hide_django_q_admin

        hide_django_q_admin()
