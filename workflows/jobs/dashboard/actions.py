"""Operator actions of the dashboard: retry, cancel and delete jobs (a selection, or every job
matching a search), pause, resume and scale queues. Each checks the user's permission, goes
through the engine's services, and is recorded by JOBS['action_auditor'] (who, what, how many,
which filter with args and meta values masked)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.utils.module_loading import import_string

from workflows.jobs.api import services
from workflows.jobs.api.queues import pause_queue, resume_queue, scale_queue
from workflows.jobs.conf import jobs_settings
from workflows.jobs.dashboard.access import JOB_ACTIONS, resolve_access
from workflows.jobs.dashboard.search import Search
from workflows.jobs.dashboard.selectors import capped_count, jobs_search
from workflows.jobs.policy.errors import JobsError

JOB_SERVICES: dict[str, Callable[..., int]] = {
    "retry": services.jobs_retry,
    "cancel": services.jobs_cancel,
    "delete": services.jobs_delete,
}
DONE_MESSAGES = {
    "retry": "{count} job(s) put back to available.",
    "cancel": "{count} job(s) cancelled.",
    "delete": "{count} job(s) deleted.",
}


class ActionRefused(Exception):
    """An action that is not run; the message is shown to the user as it is."""


@dataclass(frozen=True)
class Selection:
    """What a bulk action applies to: explicit ids, or every job matching a search."""

    ids: tuple[int, ...] = ()
    search: Search | None = None

    @property
    def filter_text(self) -> str:
        return self.search.masked() if self.search is not None else ""


def _check_permission(user, action: str) -> None:
    if not resolve_access(user).may(action):
        raise PermissionDenied(f"you may not {action} here.")


def bulk_limit() -> int:
    return int(jobs_settings().bulk_limit)


def selection_count(*, user, selection: Selection) -> int:
    """How many jobs the selection names (at most bulk_limit() + 1: more is refused)."""
    if selection.search is None:
        return len(selection.ids)
    jobs = jobs_search(selection.search, may_search_data=resolve_access(user).view_args)
    return capped_count(jobs, bulk_limit() + 1)


def check_selection(*, user, action: str, selection: Selection) -> int:
    """The count the confirmation names; ActionRefused above the limit or for nothing."""
    if action not in JOB_ACTIONS:
        raise ActionRefused(f"unknown action {action!r}; actions are {', '.join(JOB_ACTIONS)}.")
    _check_permission(user, action)
    count = selection_count(user=user, selection=selection)
    limit = bulk_limit()
    if count > limit:
        raise ActionRefused(
            f"more than {limit:,} jobs match: a bulk {action} is limited to {limit:,} jobs "
            f"(JOBS_BULK_LIMIT). Narrow the search (e.g. add queue: or state:) and try again."
        )
    if count == 0:
        raise ActionRefused("no job selected: tick some jobs or search, then choose the action.")
    return count


def jobs_act(*, user, action: str, selection: Selection) -> str:
    """Run a job action on the selection; returns the message for the user."""
    check_selection(user=user, action=action, selection=selection)
    if selection.search is not None:
        jobs = jobs_search(selection.search, may_search_data=resolve_access(user).view_args)
        ids = list(jobs.values_list("id", flat=True)[: bulk_limit()])
    else:
        ids = list(selection.ids)
    count = JOB_SERVICES[action](ids=ids)
    _audit(user=user, action=action, count=count, filter_text=selection.filter_text, ids=ids)
    return DONE_MESSAGES[action].format(count=count)


def queue_act(*, user, action: str, queue: str, limit: str | int | None = None) -> str:
    """Pause, resume or scale a queue with the CLI's validation; ActionRefused carries the
    CLI's message (`manage.py jobs scale email 0` says the same)."""
    _check_permission(user, action)
    by = f"admin user {user.get_username()}"
    try:
        if action == "pause":
            pause_queue(queue, by=by)
            message = f"paused {queue}"
        elif action == "resume":
            resume_queue(queue, by=by)
            message = f"resumed {queue}"
        elif action == "scale":
            new_limit = _whole_number(limit)
            scale_queue(queue, new_limit, by=by)
            message = f"scaled {queue} to {new_limit}"
        else:
            raise ActionRefused(f"unknown queue action {action!r}: pause, resume or scale.")
    except JobsError as error:
        raise ActionRefused(str(error)) from None
    _audit(
        user=user,
        action=action,
        count=1,
        filter_text=f"queue:{queue}" + (f" limit:{limit}" if action == "scale" else ""),
        ids=[],
    )
    return message


def _whole_number(value: str | int | None):
    """An int when the text is one; otherwise the text itself, which scale_queue refuses
    with its message."""
    if isinstance(value, int):
        return value
    text = (value or "").strip()
    return int(text) if text.lstrip("-").isdigit() else text


def _audit(*, user, action: str, count: int, filter_text: str, ids: list[int]) -> None:
    path = jobs_settings().action_auditor
    if path:
        import_string(path)(user=user, action=action, count=count, filter=filter_text, ids=ids)
