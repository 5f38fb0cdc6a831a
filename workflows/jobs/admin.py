"""The job dashboard and dead-letter browser. Jobs are evidence: read-only, acted on only
through the engine's services (retry, cancel), never edited or deleted here."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.html import format_html, format_html_join

from workflows.jobs.admin_workflows import WORKFLOW_FIELDSET, WorkflowJobMixin
from workflows.jobs.api import services
from workflows.jobs.api.queues import (
    check_queue,
    is_retired,
    pause_queue,
    resume_queue,
    scale_queue,
)
from workflows.jobs.api.worker import registered_workers
from workflows.jobs.args_view import job_args_viewed, masked_values, may_view_raw_args
from workflows.jobs.conf import jobs_settings
from workflows.jobs.dashboard import admin as dashboard_admin  # noqa: F401 (registers the dashboard)
from workflows.jobs.dashboard.forms import QueueLimitForm
from workflows.jobs.execution.attempt import scrub
from workflows.jobs.models import DeadLetter, Job, Node, Queue


def _who(request) -> str:
    """Who changed a queue, as the queue_changed signal carries it."""
    return f"admin user {request.user.get_username()}"


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows the engine owns: shown, never added, edited or deleted through the admin."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class QueueFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(name, name) for name in jobs_settings().queue_names]

    def queryset(self, request, queryset):
        return queryset.filter(queue=self.value()) if self.value() else queryset


class WorkerFilter(admin.SimpleListFilter):
    title = "worker"
    parameter_name = "worker"

    def lookups(self, request, model_admin):
        return [(path, path.rsplit(".", 1)[-1]) for path in sorted(registered_workers())]

    def queryset(self, request, queryset):
        return queryset.filter(worker=self.value()) if self.value() else queryset


def _pretty_json(value) -> str:
    return format_html(
        "<pre class='jobs-json'>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False)
    )


class ReadOnlyJobAdmin(WorkflowJobMixin, ViewOnlyAdmin):
    list_display = (
        "id",
        "worker_name",
        "queue",
        "state",
        "priority",
        "attempts",
        "scheduled_at",
        "inserted_at",
    )
    list_filter = ("state", QueueFilter, WorkerFilter, "priority")
    search_fields = ("=id",)
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = 50
    actions = ("retry_selected", "cancel_selected")
    fieldsets = (
        (None, {"fields": ("id", "state", "worker", "queue", "priority", "tags")}),
        ("Attempts", {"fields": ("attempts", "attempted_at", "attempted_by", "error_history")}),
        (
            "Times",
            {
                "fields": (
                    "inserted_at",
                    "scheduled_at",
                    "completed_at",
                    "discarded_at",
                    "cancelled_at",
                )
            },
        ),
        ("Data", {"fields": ("pretty_args", "pretty_meta", "pretty_result")}),
        WORKFLOW_FIELDSET,
    )

    def get_fieldsets(self, request, obj=None):
        """Raw args and meta only with the view_job_args permission; masked values otherwise."""
        if may_view_raw_args(request.user):
            return self.fieldsets
        masked = {
            "pretty_args": "masked_args",
            "pretty_meta": "masked_meta",
            "pretty_result": "masked_result",
        }
        return [
            (name, {**options, "fields": tuple(masked.get(f, f) for f in options["fields"])})
            for name, options in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        return [
            field
            for fieldset in self.get_fieldsets(request, obj)
            for field in fieldset[1]["fields"]
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if (
            request.method == "GET"
            and response.status_code == 200
            and may_view_raw_args(request.user)
        ):
            job = response.context_data["original"]
            job_args_viewed(user=request.user, job=job)
        return response

    @admin.display(description="attempts")
    def attempts(self, job: Job) -> str:
        return f"{job.attempt}/{job.max_attempts}"

    @admin.display(description="args")
    def pretty_args(self, job: Job) -> str:
        return _pretty_json(job.args)

    @admin.display(description="meta")
    def pretty_meta(self, job: Job) -> str:
        return _pretty_json(job.meta)

    @admin.display(description="args (values masked)")
    def masked_args(self, job: Job) -> str:
        return _pretty_json(masked_values(job.args))

    @admin.display(description="meta (values masked)")
    def masked_meta(self, job: Job) -> str:
        return _pretty_json(masked_values(job.meta))

    # A recorded result (Worker.record) may hold patient data: shown and masked like args.
    @admin.display(description="result")
    def pretty_result(self, job: Job) -> str:
        return _pretty_json(job.result)

    @admin.display(description="result (values masked)")
    def masked_result(self, job: Job) -> str:
        return _pretty_json(masked_values(job.result))

    @admin.display(description="errors")
    def error_history(self, job: Job) -> str:
        if not job.errors:
            return "-"
        return format_html_join(
            "",
            "<div class='jobs-error'><strong>attempt {} at {}</strong><pre>{}</pre></div>",
            # Masked when stored; masked again for rows stored before the mask knew a form.
            ((e.get("attempt"), e.get("at"), scrub(str(e.get("error", "")))) for e in job.errors),
        )

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("jobs.retry_job")

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("jobs.cancel_job")

    @admin.action(description="Retry selected jobs", permissions=["retry"])
    def retry_selected(self, request, queryset: QuerySet[Job]) -> None:
        count = services.jobs_retry(queryset=queryset)
        self.message_user(request, f"{count} job(s) put back to available.", messages.SUCCESS)

    @admin.action(description="Cancel selected jobs", permissions=["cancel"])
    def cancel_selected(self, request, queryset: QuerySet[Job]) -> None:
        count = services.jobs_cancel(queryset=queryset)
        self.message_user(request, f"{count} job(s) cancelled.", messages.SUCCESS)


@admin.register(Job)
class JobAdmin(ReadOnlyJobAdmin):
    pass


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyJobAdmin):
    list_display = ("id", "worker_name", "queue", "attempts", "discarded_at", "short_error")
    list_filter = (QueueFilter, WorkerFilter)
    actions = ("retry_selected",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(state="discarded")

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("jobs.view_job") or request.user.has_perm(
            "jobs.view_deadletter"
        )

    @admin.display(description="last error")
    def short_error(self, job: Job) -> str:
        return scrub(job.last_error_line)[:160]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "limit",
        "status",
        "running",
        "available",
        "scheduled",
        "retryable",
        "rate_limit_use",
        "partition_use",
        "nodes",
    )
    form = QueueLimitForm
    fields = ("name", "limit", "paused", "configured_limit", "updated_at")
    readonly_fields = ("name", "configured_limit", "updated_at")
    actions = ("pause_selected", "resume_selected")

    def get_changelist_instance(self, request):
        self._counts = {}
        return super().get_changelist_instance(request)

    def _count(self, queue: Queue, key: str):
        cache = getattr(self, "_counts", {})
        if queue.name not in cache:
            cache[queue.name] = check_queue(queue.name)
            self._counts = cache
        return cache[queue.name][key]

    @admin.display(description="status")
    def status(self, queue: Queue) -> str:
        """In words: a queue no longer in settings is retired (kept with its jobs, served by
        no node)."""
        if is_retired(queue.name):
            return "retired"
        return "paused" if queue.paused else "running"

    @admin.display(description="running")
    def running(self, queue: Queue) -> int:
        return self._count(queue, "running")

    @admin.display(description="available")
    def available(self, queue: Queue) -> int:
        return self._count(queue, "available")

    @admin.display(description="scheduled")
    def scheduled(self, queue: Queue) -> int:
        return self._count(queue, "scheduled")

    @admin.display(description="retryable")
    def retryable(self, queue: Queue) -> int:
        return self._count(queue, "retryable")

    @admin.display(description="rate limit (used in window)")
    def rate_limit_use(self, queue: Queue) -> str:
        rate = self._count(queue, "rate_limit")
        if rate is None:
            return "-"
        return f"{self._count(queue, 'rate_used')} of {rate.allowed} per {rate.period_seconds} s"

    @admin.display(description="partition (busiest / limit)")
    def partition_use(self, queue: Queue) -> str:
        partition = self._count(queue, "partition")
        if partition is None:
            return "-"
        return (
            f"{partition}: {self._count(queue, 'busiest')} / {partition.limit}; "
            f"{self._count(queue, 'partitions_running')} running, "
            f"{self._count(queue, 'partitions_waiting')} waiting"
        )

    @admin.display(description="nodes")
    def nodes(self, queue: Queue) -> str:
        return ", ".join(self._count(queue, "nodes")) or "-"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: Queue, form, change: bool) -> None:
        if "limit" in form.changed_data:
            scale_queue(obj.name, obj.limit, by=_who(request))
        if "paused" in form.changed_data:
            (pause_queue if obj.paused else resume_queue)(obj.name, by=_who(request))

    @admin.action(description="Pause selected queues", permissions=["change"])
    def pause_selected(self, request, queryset: QuerySet[Queue]) -> None:
        for queue in queryset:
            pause_queue(queue.name, by=_who(request))
        self.message_user(request, f"Paused {queryset.count()} queue(s).", messages.SUCCESS)

    @admin.action(description="Resume selected queues", permissions=["change"])
    def resume_selected(self, request, queryset: QuerySet[Queue]) -> None:
        for queue in queryset:
            resume_queue(queue.name, by=_who(request))
        self.message_user(request, f"Resumed {queryset.count()} queue(s).", messages.SUCCESS)


@admin.register(Node)
class NodeAdmin(ViewOnlyAdmin):
    list_display = ("name", "host", "pid", "concurrency", "started_at", "heartbeat_at", "stopping")
    readonly_fields = (
        "name",
        "host",
        "pid",
        "queues",
        "concurrency",
        "started_at",
        "heartbeat_at",
        "stopping",
    )
