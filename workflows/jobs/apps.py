from __future__ import annotations

import importlib
import importlib.util

from django.apps import AppConfig, apps


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


class JobsConfig(AppConfig):
    name = "workflows.jobs"
    label = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflows.jobs import checks  # noqa: F401  (registers the system checks)

        discover_workers()
        hide_django_q_admin()


def hide_django_q_admin() -> None:
    """django-q2 registers its Schedule editor and its task result pages in the admin. Here
    settings own the crontab and results live on the jobs table, so none is shown: its admin
    module is imported now (the admin's autodiscovery then finds it already imported) and its
    models unregistered."""
    from django.contrib import admin

    if not apps.is_installed("django.contrib.admin"):
        return
    importlib.import_module("django_q.admin")
    from django_q import models as q_models

    for model in (q_models.Schedule, q_models.Success, q_models.Failure, q_models.OrmQ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
