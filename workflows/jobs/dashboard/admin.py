"""The dashboard's entry in the admin: the first row of the Jobs section ("Dashboard", at
/admin/jobs/overview/) and the URLs of its pages under it."""

from __future__ import annotations

import functools

from django.contrib import admin
from django.urls import path

from workflows.jobs.dashboard import views
from workflows.jobs.models import Overview


@admin.register(Overview)
class DashboardAdmin(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("jobs.view_job")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        def page(view):
            return self.admin_site.admin_view(functools.partial(view, site=self.admin_site))

        return [
            path("", page(views.overview), name="jobs_overview_changelist"),
            path("jobs/", page(views.job_list), name="jobs_dashboard_jobs"),
            path("jobs/bulk/", page(views.bulk_action), name="jobs_dashboard_bulk"),
            path("jobs/<int:object_id>/", page(views.job_detail), name="jobs_dashboard_job"),
            path(
                "jobs/<int:object_id>/<str:action>/",
                page(views.job_action),
                name="jobs_dashboard_job_action",
            ),
            path("queues/", page(views.queues), name="jobs_dashboard_queues"),
            path("cron/", page(views.cron), name="jobs_dashboard_cron"),
            path("nodes/", page(views.nodes), name="jobs_dashboard_nodes"),
        ]
