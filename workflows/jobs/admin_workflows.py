"""The workflow pages of the job dashboard: a workflow's graph (server-rendered SVG) with each
step's state and timing, links to its jobs, Cancel and Retry; on the job page, a link to its
workflow; `workflow:<id or name>` and `step:<name>` in the job search. Acts only through the
engine's functions (cancel_workflow, retry_workflow)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from workflows.jobs.api.workflows import cancel_workflow, retry_workflow
from workflows.jobs.execution.attempt import scrub
from workflows.jobs.models import Job, JobDependency, JobWorkflow
from workflows.jobs.workflow_graph import GraphStep, render_svg

WORKFLOW_FIELDSET = ("Workflow", {"fields": ("workflow_link", "step", "on_dep_failure")})


def _job_url(job_id: int) -> str:
    return reverse("admin:jobs_job_change", args=[job_id])


class WorkflowJobMixin:
    """For the job admin: the workflow fieldset's link, and the `workflow:` / `step:` search."""

    @admin.display(description="workflow")
    def workflow_link(self, job: Job) -> str:
        if job.workflow_id is None:
            return "-"
        url = reverse("admin:jobs_jobworkflow_change", args=[job.workflow_id])
        return format_html('<a href="{}">workflow {}</a>', url, job.workflow_id)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        for prefix, field in (("workflow:", "workflow"), ("step:", "step")):
            if term.lower().startswith(prefix):
                value = term[len(prefix) :].strip()
                if field == "step":
                    return queryset.filter(step=value), False
                if value.isdigit():
                    return queryset.filter(workflow_id=int(value)), False
                return queryset.filter(workflow__name__icontains=value), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(JobWorkflow)
class JobWorkflowAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "steps", "unfinished", "failed", "inserted_at")
    search_fields = ("=id", "name")
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request):
        unfinished = ("available", "scheduled", "executing", "retryable", "suspended")
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_steps=Count("jobs"),
                n_unfinished=Count("jobs", filter=Q(jobs__state__in=unfinished)),
                n_failed=Count("jobs", filter=Q(jobs__state__in=("discarded", "cancelled"))),
            )
        )

    @admin.display(description="steps", ordering="n_steps")
    def steps(self, workflow) -> int:
        return workflow.n_steps

    @admin.display(description="unfinished")
    def unfinished(self, workflow) -> int:
        return workflow.n_unfinished

    @admin.display(description="discarded or cancelled")
    def failed(self, workflow) -> int:
        return workflow.n_failed

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("jobs.view_job")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        workflow = get_object_or_404(JobWorkflow, pk=object_id)
        if request.method == "POST":
            return self._act(request, workflow)
        jobs = list(Job.objects.filter(workflow_id=workflow.pk).order_by("id"))
        deps: dict[int, list[int]] = {}
        edges = JobDependency.objects.filter(job__workflow_id=workflow.pk)
        for job_id, dep_id in edges.values_list("job_id", "dep_id"):
            deps.setdefault(job_id, []).append(dep_id)
        names = {job.pk: job.step for job in jobs}
        graph = render_svg(
            [
                GraphStep(job.pk, job.step or "?", job.state, tuple(deps.get(job.pk, ())))
                for job in jobs
            ],
            _job_url,
        )
        rows = [
            {
                "job": job,
                "url": _job_url(job.pk),
                "deps": ", ".join(names.get(dep, str(dep)) for dep in deps.get(job.pk, ())),
                "finished_at": job.completed_at or job.discarded_at or job.cancelled_at,
                "error": scrub(job.last_error_line)[:200],
            }
            for job in jobs
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(workflow),
            "workflow": workflow,
            "graph": graph,
            "rows": rows,
            "may_cancel": request.user.has_perm("jobs.cancel_job"),
            "may_retry": request.user.has_perm("jobs.retry_job"),
            "original": workflow,
        }
        return TemplateResponse(request, "admin/jobs/jobworkflow/workflow.html", context)

    def _act(self, request, workflow: JobWorkflow):
        action = request.POST.get("action")
        if action == "cancel" and request.user.has_perm("jobs.cancel_job"):
            count = cancel_workflow(workflow.pk, reason=f"by {request.user.get_username()}")
            self.message_user(request, f"{count} step(s) cancelled.", messages.SUCCESS)
        elif action == "retry" and request.user.has_perm("jobs.retry_job"):
            count = retry_workflow(workflow.pk)
            self.message_user(request, f"{count} failed step(s) retried.", messages.SUCCESS)
        else:
            raise PermissionDenied
        return HttpResponseRedirect(request.path)
