"""The dashboard's reads: jobs matching a Search, counts, and the rows of each page.

Every query is bounded: lists are keyset pages of the newest jobs, counts stop at a cap, so a
page answers in the same time over a thousand jobs or a million (docs/benchmarks.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from workflows.jobs.api.queues import live_nodes, queues_overview
from workflows.jobs.api.worker import registered_workers
from workflows.jobs.conf import jobs_settings
from workflows.jobs.dashboard.present import parsed_time
from workflows.jobs.dashboard.search import Search, SearchError, Term
from workflows.jobs.models import Job, JobMetric, Node
from workflows.jobs.node.cron import crontab, next_slot
from workflows.jobs.policy.metrics import OUTCOMES, bucket_percentile
from workflows.jobs.policy.states import ALL_STATES

PAGE_SIZE = 50
STATE_COUNT_CAP = 10_000
COUNT_WINDOW = 1_000  # rows: keeps a filtered list under 200 ms over 1M jobs (benchmarks)


def _workers_named(name: str) -> list[str]:
    """Registered worker paths whose class name or dotted path is exactly `name`."""
    return [p for p in registered_workers() if p == name or p.rsplit(".", 1)[-1] == name]


def _worker_q(term_values: tuple[str, ...]) -> Q:
    parts = []
    for value in term_values:
        paths = _workers_named(value)
        # Not registered (a worker removed since): its jobs are still found, by path or name.
        parts.append(
            Q(worker__in=paths) if paths else Q(worker=value) | Q(worker__endswith=f".{value}")
        )
    return reduce(or_, parts)


def _free_text_q(word: str) -> Q:
    """Free text: workers whose dotted path contains the word, case-insensitive."""
    paths = [p for p in registered_workers() if word.lower() in p.lower()]
    return Q(worker__in=paths) if paths else Q(worker__icontains=word)


def _nested(path: tuple[str, ...], value: Any) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


def _data_q(term: Term) -> Q:
    """args.<path>:v matches the value as text and, if it reads as JSON (42, true), as that."""
    raw = term.values[0]
    field = f"{term.key}__contains"
    q = Q(**{field: _nested(term.path, raw)})
    try:
        parsed = json.loads(raw)
    except ValueError:
        return q
    if isinstance(parsed, int | float | bool) or parsed is None:
        q |= Q(**{field: _nested(term.path, parsed)})
    return q


def _term_q(term: Term) -> Q:
    values = list(term.values)
    if term.key == "worker":
        return _worker_q(term.values)
    if term.key == "queue":
        return Q(queue__in=values)
    if term.key == "state":
        return Q(state__in=values)
    if term.key == "tags":
        return Q(tags__overlap=values)
    if term.key == "id":
        return Q(pk__in=[int(v) for v in values])
    if term.key == "node":
        return Q(attempted_by__0__in=values)
    if term.key == "priority":
        return Q(priority__in=[int(v) for v in values])
    return _data_q(term)


def jobs_search(search: Search, *, may_search_data: bool) -> QuerySet[Job]:
    """Jobs matching every term of `search`, newest first. Searching args or meta values
    needs jobs.view_job_args: otherwise an operator could find patient data by guessing it."""
    if search.searches_data and not may_search_data:
        raise SearchError(
            "searching args.<path>: or meta.<path>: needs the permission to view job args "
            "(jobs.view_job_args); search by id, worker, queue, state, tags, node or priority."
        )
    jobs = Job.objects.all()
    for term in search.terms:
        jobs = jobs.filter(_term_q(term))
    for word in search.text:
        jobs = jobs.filter(_free_text_q(word))
    return jobs.order_by("-id")


def capped_count(jobs: QuerySet[Job], cap: int) -> int:
    """How many jobs match, counting at most `cap` (cap means "at least cap")."""
    return jobs.order_by()[:cap].count()


@dataclass(frozen=True)
class StateCounts:
    counts: dict[str, int]
    cap: int  # a count equal to cap means "at least cap"
    window: int | None = None  # counted among the newest `window` matches only

    def __getitem__(self, state: str) -> int:
        return self.counts.get(state, 0)


def state_counts(search: Search, *, may_search_data: bool) -> StateCounts:
    """Per state, the jobs matching the search's other terms, in bounded time.

    With no other term, each state's jobs are counted exactly up to STATE_COUNT_CAP (an index
    probe per state). With other terms, the newest COUNT_WINDOW matches are counted by state
    (one scan of at most that many rows, like Oban Web's "most recent jobs" limit)."""
    other = search.without("state")
    base = jobs_search(other, may_search_data=may_search_data)
    if not other:
        return StateCounts(
            {
                state: capped_count(base.filter(state=state), STATE_COUNT_CAP)
                for state in ALL_STATES
            },
            STATE_COUNT_CAP,
        )
    newest = base.order_by("-id").values("id")[:COUNT_WINDOW]
    rows = Job.objects.filter(pk__in=newest).order_by().values("state").annotate(count=Count("id"))
    counts = {row["state"]: row["count"] for row in rows}
    window = COUNT_WINDOW if sum(counts.values()) >= COUNT_WINDOW else None
    return StateCounts(counts, COUNT_WINDOW, window)


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    next_before: int | None  # the `before` of the next (older) page, None on the last


def job_page(jobs: QuerySet[Job], *, before: int | None = None, size: int = PAGE_SIZE) -> JobPage:
    if before is not None:
        jobs = jobs.filter(pk__lt=before)
    rows = list(jobs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return JobPage(rows, rows[-1].pk if more and rows else None)


def running_by_node() -> dict[str, int]:
    rows = (
        Job.objects.filter(state="executing")
        .values(node=F("attempted_by__0"))
        .annotate(count=Count("id"))
    )
    return {row["node"]: row["count"] for row in rows}


def running_by_queue_and_node() -> dict[str, dict[str, int]]:
    rows = (
        Job.objects.filter(state="executing")
        .values("queue", node=F("attempted_by__0"))
        .annotate(count=Count("id"))
    )
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        found.setdefault(row["queue"], {})[row["node"] or "?"] = row["count"]
    return found


def node_rows(now: datetime | None = None) -> list[dict[str, Any]]:
    """Each node with its running jobs, heartbeat age and status (alive, stale, stopping)."""
    now = now or timezone.now()
    dead_after = jobs_settings().node_dead_after_seconds
    running = running_by_node()
    rows = []
    for node in Node.objects.order_by("name"):
        age = (now - node.heartbeat_at).total_seconds()
        status = "stopping" if node.stopping else ("alive" if age < dead_after else "stale")
        rows.append(
            {
                "node": node,
                "running": running.get(node.name, 0),
                "heartbeat_age_seconds": max(0, int(age)),
                "status": status,
            }
        )
    return rows


def queue_rows() -> list[dict[str, Any]]:
    """Each queue: limit, state in words, counts, running per node, nodes serving it."""
    per_node = running_by_queue_and_node()
    serving: dict[str, list[str]] = {}
    for node in live_nodes():
        for queue in node.queues:
            serving.setdefault(queue, []).append(node.name)
    rows = []
    for row in queues_overview():
        status = "retired" if row["retired"] else ("paused" if row["paused"] else "running")
        rows.append(
            {
                **row,
                "status": status,
                "running_by_node": sorted(per_node.get(row["name"], {}).items()),
                "nodes": sorted(serving.get(row["name"], [])),
            }
        )
    return rows


def oldest_available_age_seconds(now: datetime | None = None) -> int | None:
    now = now or timezone.now()
    oldest = Job.objects.filter(state="available", scheduled_at__lte=now).aggregate(
        oldest=Min("scheduled_at")
    )["oldest"]
    return None if oldest is None else max(0, int((now - oldest).total_seconds()))


CHART_OUTCOMES = ("completed", "failed", "discarded")


@dataclass(frozen=True)
class Chart:
    """Counts per outcome in consecutive slots (minutes or hours), oldest first."""

    title: str
    slots: list[datetime]
    series: dict[str, list[int]]  # outcome -> one count per slot

    @property
    def peak(self) -> int:
        return max([1, *(count for counts in self.series.values() for count in counts)])


def _chart(title: str, rows, slots: list[datetime], key: str) -> Chart:
    index = {slot: position for position, slot in enumerate(slots)}
    series = {outcome: [0] * len(slots) for outcome in CHART_OUTCOMES}
    for row in rows:
        position = index.get(row[key])
        if position is not None and row["outcome"] in series:
            series[row["outcome"]][position] += row["total"]
    return Chart(title, slots, series)


def charts(now: datetime | None = None) -> dict[str, Any]:
    """Executions, failures and discards per minute (last hour) and per hour (last 7 days),
    and the wait time p50/p95 of the last hour, from the per-minute metrics."""
    now = (now or timezone.now()).astimezone(UTC)
    this_minute = now.replace(second=0, microsecond=0)
    minutes = [this_minute - timedelta(minutes=n) for n in range(60, 0, -1)]
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    hours = [this_hour - timedelta(hours=n) for n in range(24 * 7 - 1, -1, -1)]
    recent = JobMetric.objects.filter(minute__gte=minutes[0], outcome__in=OUTCOMES)
    per_minute = recent.values("minute", "outcome").annotate(total=Sum("count"))
    per_hour = (
        JobMetric.objects.filter(minute__gte=hours[0])
        .annotate(hour=TruncHour("minute", tzinfo=UTC))
        .values("hour", "outcome")
        .annotate(total=Sum("count"))
    )
    buckets: list[int] = []
    for row in recent.values_list("wait_ms_buckets", flat=True):
        buckets = [a + b for a, b in zip(buckets or [0] * len(row), row, strict=False)]
    return {
        "per_minute": _chart("per minute, last hour", per_minute, minutes, "minute"),
        "per_hour": _chart("per hour, last 7 days", per_hour, hours, "hour"),
        "wait_p50_ms": bucket_percentile(buckets, 0.5),
        "wait_p95_ms": bucket_percentile(buckets, 0.95),
    }


def overview(now: datetime | None = None) -> dict[str, Any]:
    """Everything the overview page shows and refreshes."""
    now = now or timezone.now()
    queues = queue_rows()
    totals = {
        key: sum(row[key] for row in queues)
        for key in ("available", "scheduled", "running", "retryable", "discarded")
    }
    return {
        "now": now,
        "queues": queues,
        "totals": totals,
        "nodes": node_rows(now),
        "oldest_available_age_seconds": oldest_available_age_seconds(now),
        **charts(now),
    }


SLOT_HISTORY = 5


def cron_rows(now: datetime | None = None) -> list[dict[str, Any]]:
    """Each crontab entry with its next slot and the jobs of its last slots (newest first)."""
    now = now or timezone.now()
    rows = []
    for entry in crontab():
        try:
            upcoming = next_slot(entry.expression, now.astimezone(UTC))
        except (ValueError, KeyError):
            upcoming = None
        recent = list(
            Job.objects.filter(
                worker=entry.worker, meta__contains={"cron_expr": entry.expression}
            ).order_by("-id")[:SLOT_HISTORY]
        )
        rows.append({"entry": entry, "next_slot": upcoming, "recent": recent})
    return rows


def _ending(job: Job) -> str:
    """How the last attempt ended the job: "discarded", or "failed, then discarded" when
    its attempts ran out."""
    if job.last_outcome in (None, "", job.state):
        return job.state
    return f"{job.last_outcome}, then {job.state}"


def timeline(job: Job) -> list[dict[str, Any]]:
    """The job's life as events: inserted, scheduled, each attempt (its node, start,
    duration and outcome, from the error entries and the current attempt), finished."""
    events: list[dict[str, Any]] = [{"what": "inserted", "at": job.inserted_at}]
    if job.scheduled_at and job.scheduled_at > job.inserted_at + timedelta(seconds=1):
        events.append({"what": "scheduled", "at": job.scheduled_at})
    for entry in job.errors or []:
        # An error entry is a failed attempt, except the last one of a discarded or cancelled
        # job: that attempt ended the job.
        ended_it = entry.get("attempt") == job.attempt and job.state in ("discarded", "cancelled")
        events.append(
            {
                "what": f"attempt {entry.get('attempt')}",
                "at": parsed_time(entry.get("at")),
                "outcome": _ending(job) if ended_it else "failed",
                "node": entry.get("node", ""),
                "duration_ms": entry.get("duration_ms"),
            }
        )
    recorded = {entry.get("attempt") for entry in job.errors or []}
    if job.attempt and job.attempt not in recorded and job.attempted_at:
        outcome = "executing" if job.state == "executing" else (job.last_outcome or job.state)
        duration = None
        if job.completed_at:
            duration = int((job.completed_at - job.attempted_at).total_seconds() * 1000)
        events.append(
            {
                "what": f"attempt {job.attempt}",
                "at": job.attempted_at,
                "outcome": outcome,
                "node": (job.attempted_by or [""])[0],
                "duration_ms": duration,
            }
        )
    for what in ("completed", "discarded", "cancelled"):
        at = getattr(job, f"{what}_at")
        if at:
            events.append({"what": what, "at": at})
    return events
