"""django-q2's own admin pages, which this project does not show."""

from __future__ import annotations

import importlib

from django.apps import apps


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
