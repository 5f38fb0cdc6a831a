"""Every page of the admin, for tests that must visit them all: one row of each registered
model (made through the product's services where it has them) and the URL of each page."""

from __future__ import annotations

import importlib
import uuid
from datetime import timedelta

from django.apps import apps
from django.contrib import admin
from django.db import models
from django.urls import URLPattern, reverse
from django.utils import timezone

# Admin URL names that are not pages a person opens: GET on logout is refused by design,
# jsi18n is a script, autocomplete is JSON, view_on_site redirects off the admin.
# jobs_dashboard_bulk takes only the POST of the list's bulk form.
NOT_PAGES = {"logout", "jsi18n", "autocomplete", "view_on_site", "jobs_dashboard_bulk"}


def one_row_of_every_admin_model(*, user) -> dict[type[models.Model], models.Model]:
    """A row per registered model; the caller's dead_job fixture supplies the dead letter."""
    from axes.models import AccessAttempt
    from django_q.models import Schedule, Task

    from compliance.access import access_ledger_record
    from compliance.alerts import alert_raise
    from compliance.models import HealthCheckResult
    from compliance.reports import report_build
    from compliance.retention import retention_run
    from tests.factories import (
        AuditLogFactory,
        ConsentFactory,
        NodeFactory,
        PostFactory,
        QueueFactory,
    )

    defaults = importlib.import_module("compliance.migrations.0004_default_retention_policies")
    defaults.create_defaults(apps, None)
    post = PostFactory(title="Hydration and heat", phi_detected=True)
    access_ledger_record(user=user, obj=post, channel="admin", path="/admin/")
    ConsentFactory(user=user)
    AuditLogFactory()
    alert_raise(kind="operations", code="csp_test", summary="A synthetic alert for the test")
    HealthCheckResult.objects.create(name="database", ok=True, latency_ms=3)
    now = timezone.now()
    report_build(kind="weekly", start=now - timedelta(days=7), end=now)
    retention_run(dry_run=True)
    QueueFactory(name="default")
    NodeFactory()
    AccessAttempt.objects.create(
        username="someone@example.test",
        ip_address="192.0.2.10",
        user_agent="test",
        get_data="",
        post_data="",
        http_accept="text/html",
        path_info="/admin/login/",
        failures_since_start=1,
        attempt_time=now,
    )
    Schedule.objects.create(
        name="csp-test", func="math.floor", schedule_type=Schedule.ONCE, next_run=now
    )
    for succeeded in (True, False):
        Task.objects.create(
            id=uuid.uuid4().hex,
            name=f"task-{succeeded}",
            func="math.floor",
            started=now,
            stopped=now,
            success=succeeded,
        )
    rows = {}
    for model, model_admin in admin.site._registry.items():
        row = model_admin.get_queryset(_request_for(user)).order_by("pk").first()
        assert row is not None, f"make a row of {model._meta.label} in this helper"
        rows[model] = row
    return rows


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _parameters(pattern: URLPattern) -> set[str]:
    return set(pattern.pattern.regex.groupindex)


def admin_page_urls(rows: dict[type[models.Model], models.Model]) -> list[str]:
    """The site's pages (index, each app, password change) and each model admin's pages
    (change list, add, change, history, delete, and any page an admin class adds)."""
    urls = []
    for pattern in admin.site.get_urls():
        if not isinstance(pattern, URLPattern) or pattern.name in NOT_PAGES or not pattern.name:
            continue
        if pattern.name == "app_list":
            labels = sorted({model._meta.app_label for model in admin.site._registry})
            urls += [reverse("admin:app_list", args=[label]) for label in labels]
        elif not _parameters(pattern):
            urls.append(reverse(f"admin:{pattern.name}"))
        else:
            raise AssertionError(f"give the admin page {pattern.name} its URL arguments here")
    for model, model_admin in admin.site._registry.items():
        row = rows[model]
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern) or pattern.name in NOT_PAGES:
                continue
            if not pattern.name:
                continue  # the old-style redirect to the change page
            parameters = _parameters(pattern)
            if not parameters:
                urls.append(reverse(f"admin:{pattern.name}"))
            elif parameters in ({"object_id"}, {"id"}):
                urls.append(reverse(f"admin:{pattern.name}", args=[row.pk]))
            elif parameters == {"object_id", "action"}:  # the dashboard's confirmations
                urls += [
                    reverse(f"admin:{pattern.name}", args=[row.pk, action])
                    for action in ("retry", "cancel", "delete")
                ]
            else:
                raise AssertionError(f"give the admin page {pattern.name} its URL arguments here")
    return urls
