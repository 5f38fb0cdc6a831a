"""The dashboard's pages. Each view reads through `selectors`, acts through `actions`, and
renders a template under templates/admin/jobs/dashboard/; all need jobs.view_job (the admin
wraps them in its login and staff check)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from workflows.jobs.args_view import job_args_viewed
from workflows.jobs.dashboard import actions, present, selectors
from workflows.jobs.dashboard.access import JOB_ACTIONS, Access, resolve_access
from workflows.jobs.dashboard.search import LIST_KEYS, Search, SearchError, parse_search
from workflows.jobs.models import Job
from workflows.jobs.policy.states import ALL_STATES

REFRESH_CHOICES = (1, 2, 5, 15, 30, 60, 0)  # seconds; 0 is off
DEFAULT_REFRESH_SECONDS = 5


def _access(request: HttpRequest) -> Access:
    access = resolve_access(request.user)
    if not access.view_jobs:
        raise PermissionDenied("the dashboard needs the permission to view jobs.")
    return access


def _render(request, site, template: str, title: str, tab: str, **context) -> HttpResponse:
    if request.GET.get("fragment"):
        return render(request, f"admin/jobs/dashboard/{tab}_live.html", context)
    return render(
        request,
        template,
        {
            **site.each_context(request),
            "title": title,
            "tab": tab,
            "refresh_choices": REFRESH_CHOICES,
            "default_refresh": DEFAULT_REFRESH_SECONDS,
            "live_template": f"admin/jobs/dashboard/{tab}_live.html",
            **context,
        },
    )


def overview(request: HttpRequest, site) -> HttpResponse:
    access = _access(request)
    data = selectors.overview()
    data["updated_text"] = present.utc_text(data["now"])
    data["oldest_available_text"] = present.age_text(data["oldest_available_age_seconds"])
    data["chart_height"] = 3 * (present.ROW_HEIGHT + 14) + 4
    data["chart_width"] = present.CHART_WIDTH
    data["charts_shown"] = [
        {"id": key, "title": data[key].title, "rows": present.chart_rows(data[key])}
        for key in ("per_minute", "per_hour")
    ]
    data["wait_p50_text"] = present.wait_text(data["wait_p50_ms"])
    data["wait_p95_text"] = present.wait_text(data["wait_p95_ms"])
    return _render(
        request,
        site,
        "admin/jobs/dashboard/overview.html",
        "Jobs overview",
        "overview",
        access=access,
        live=True,
        **data,
    )


def _job_row(job: Job, now) -> dict:
    return {
        "job": job,
        "worker_name": job.worker_name,
        "attempts": f"{job.attempt}/{job.max_attempts}",
        "error_line": present.error_line(job),
        "scheduled_at": present.utc_text(job.scheduled_at),
        "scheduled_hint": present.relative_text(job.scheduled_at, now),
        "inserted_at": present.utc_text(job.inserted_at),
        "inserted_hint": present.relative_text(job.inserted_at, now),
    }


def _list_url(query: str = "", **extra) -> str:
    params = {"q": query, **extra} if query else extra
    url = reverse("admin:jobs_dashboard_jobs")
    return f"{url}?{urlencode(params)}" if params else url


def _state_tabs(search: Search, counts: selectors.StateCounts | None) -> list[dict]:
    """One link per state: the search with its state term replaced, and the count."""
    terms = search.terms_of("state")
    current = terms[0].values[0] if len(terms) == 1 and len(terms[0].values) == 1 else ""
    rest = search.without("state").as_text()
    return [
        {
            "state": state,
            "count": counts[state] if counts else 0,
            "capped": bool(counts) and not counts.window and counts[state] >= counts.cap,
            "url": _list_url(f"{rest} state:{state}".strip()),
            "current": state == current,
        }
        for state in ALL_STATES
    ]


def job_list(request: HttpRequest, site) -> HttpResponse:
    access = _access(request)
    query = request.GET.get("q", "").strip()
    before = request.GET.get("before", "")
    now = timezone.now()
    error = ""
    search = Search()
    try:
        search = parse_search(query)
        jobs = selectors.jobs_search(search, may_search_data=access.view_args)
        page = selectors.job_page(jobs, before=int(before) if before.isdigit() else None)
        counts = selectors.state_counts(search, may_search_data=access.view_args)
    except SearchError as problem:
        error = str(problem)
        page = selectors.JobPage([], None)
        counts = None
    return _render(
        request,
        site,
        "admin/jobs/dashboard/jobs.html",
        "Jobs",
        "jobs",
        access=access,
        query=query,
        error=error,
        rows=[_job_row(job, now) for job in page.jobs],
        next_url=_list_url(query, before=page.next_before) if page.next_before else "",
        state_tabs=_state_tabs(search, counts),
        count_window=counts.window if counts else None,
        search_keys=[f"{key}:" for key in LIST_KEYS] + ["args.<path>:", "meta.<path>:"],
        job_actions=access.job_actions,
        bulk_limit=actions.bulk_limit(),
    )


def _job_or_404(job_id: int) -> Job:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise Http404(f"no job {job_id} (it may have been pruned or deleted).")
    return job


def job_detail(request: HttpRequest, site, object_id: int) -> HttpResponse:
    access = _access(request)
    job = _job_or_404(object_id)
    now = timezone.now()
    if access.view_args:
        job_args_viewed(user=request.user, job=job)
    errors = [
        {
            "attempt": entry.get("attempt"),
            "at": present.utc_text(present.parsed_time(entry.get("at"))),
            "text": present.error_text(entry.get("error")),
        }
        for entry in reversed(job.errors or [])
    ]
    events = [
        {
            **event,
            "at_text": present.utc_text(event.get("at")),
            "hint": present.relative_text(event.get("at"), now),
        }
        for event in selectors.timeline(job)
    ]
    return _render(
        request,
        site,
        "admin/jobs/dashboard/job.html",
        f"Job {job.pk}",
        "jobs",
        access=access,
        job=job,
        row=_job_row(job, now),
        args_text=present.shown_data(job.args, raw=access.view_args),
        meta_text=present.shown_data(job.meta, raw=access.view_args),
        result_text=(
            present.shown_data(job.result, raw=access.view_args) if job.result is not None else ""
        ),
        workflow_url=(
            reverse("admin:jobs_jobworkflow_change", args=[job.workflow_id])
            if job.workflow_id
            else ""
        ),
        errors=errors,
        events=events,
        job_actions=access.job_actions,
    )


def _confirm(request, site, *, action, count, fields, described, back, ids=()) -> HttpResponse:
    """The confirmation page: names the action and the count, re-posts the same fields."""
    return _render(
        request,
        site,
        "admin/jobs/dashboard/confirm.html",
        f"Confirm {action}",
        "jobs",
        action=action,
        count=count,
        fields=fields,
        ids=ids,
        described=described,
        back=back,
    )


def job_action(request: HttpRequest, site, object_id: int, action: str) -> HttpResponse:
    """GET: the confirmation; POST (confirmed): the action on this one job."""
    _access(request)
    if action not in JOB_ACTIONS:
        raise Http404(f"unknown action {action!r}.")
    job = _job_or_404(object_id)
    selection = actions.Selection(ids=(job.pk,))
    back = reverse("admin:jobs_dashboard_job", args=[job.pk])
    try:
        count = actions.check_selection(user=request.user, action=action, selection=selection)
    except actions.ActionRefused as refused:
        messages.error(request, str(refused))
        return HttpResponseRedirect(back)
    if request.method != "POST" or request.POST.get("confirmed") != "yes":
        return _confirm(
            request,
            site,
            action=action,
            count=count,
            fields={},
            described=f"job {job.pk} ({job.worker_name})",
            back=back,
        )
    messages.success(
        request, actions.jobs_act(user=request.user, action=action, selection=selection)
    )
    if action == "delete" and not Job.objects.filter(pk=job.pk).exists():
        return HttpResponseRedirect(_list_url())
    return HttpResponseRedirect(back)


@require_POST
def bulk_action(request: HttpRequest, site) -> HttpResponse:
    """The list's bulk form: the ticked ids, or (`scope=all`) every job matching `q`. The
    first POST shows the confirmation naming the count; the confirmed POST runs it."""
    _access(request)
    action = request.POST.get("action", "")
    query = request.POST.get("q", "")
    scope = request.POST.get("scope", "selected")
    back = _list_url(query)
    try:
        if scope == "all":
            selection = actions.Selection(search=parse_search(query))
            described = f"every job matching {query!r}" if query else "every job"
            if selection.search and selection.search.searches_data:
                described = "every job matching the search"
        else:
            ids = tuple(int(v) for v in request.POST.getlist("ids") if v.isdigit())
            selection = actions.Selection(ids=ids)
            described = "the selected job(s)"
        count = actions.check_selection(user=request.user, action=action, selection=selection)
    except (actions.ActionRefused, SearchError) as refused:
        messages.error(request, str(refused))
        return HttpResponseRedirect(back)
    if request.POST.get("confirmed") != "yes":
        return _confirm(
            request,
            site,
            action=action,
            count=count,
            fields={"action": action, "q": query, "scope": scope},
            described=described,
            back=back,
            ids=selection.ids,
        )
    messages.success(
        request, actions.jobs_act(user=request.user, action=action, selection=selection)
    )
    return HttpResponseRedirect(back)


def queues(request: HttpRequest, site) -> HttpResponse:
    access = _access(request)
    if request.method == "POST":
        try:
            message = actions.queue_act(
                user=request.user,
                action=request.POST.get("action", ""),
                queue=request.POST.get("queue", ""),
                limit=request.POST.get("limit"),
            )
            messages.success(request, message)
        except actions.ActionRefused as refused:
            messages.error(request, str(refused))
        return HttpResponseRedirect(reverse("admin:jobs_dashboard_queues"))
    return _render(
        request,
        site,
        "admin/jobs/dashboard/queues.html",
        "Queues",
        "queues",
        access=access,
        live=True,
        queues=selectors.queue_rows(),
    )


def cron(request: HttpRequest, site) -> HttpResponse:
    _access(request)
    now = timezone.now()
    rows = [
        {
            **row,
            "next_utc": present.utc_text(row["next_slot"]),
            "next_local": present.local_text(row["next_slot"]),
            "next_hint": present.relative_text(row["next_slot"], now),
            "options_text": present.pretty_json(
                {k: v for k, v in row["entry"].options.items() if k != "args"}
            ),
            "has_args": "args" in row["entry"].options,
            "recent": [
                {
                    "job": job,
                    "slot": job.meta.get("cron_slot", ""),
                    "inserted_at": present.utc_text(job.inserted_at),
                }
                for job in row["recent"]
            ],
        }
        for row in selectors.cron_rows(now)
    ]
    return _render(request, site, "admin/jobs/dashboard/cron.html", "Cron", "cron", rows=rows)


def nodes(request: HttpRequest, site) -> HttpResponse:
    _access(request)
    rows = [
        {
            **row,
            "heartbeat_text": present.age_text(row["heartbeat_age_seconds"]),
            "started_at": present.utc_text(row["node"].started_at),
        }
        for row in selectors.node_rows()
    ]
    return _render(
        request, site, "admin/jobs/dashboard/nodes.html", "Nodes", "nodes", rows=rows, live=True
    )
