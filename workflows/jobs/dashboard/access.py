"""What a user may see and do on the dashboard, from Django permissions (like Oban Web's
resolve_access, with the permissions given to roles in healthcare_cms/accounts/roles.py)."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.jobs.args_view import VIEW_ARGS_PERMISSION

PERMISSIONS = {
    "view_jobs": "jobs.view_job",
    "view_args": VIEW_ARGS_PERMISSION,
    "retry": "jobs.retry_job",
    "cancel": "jobs.cancel_job",
    "delete": "jobs.delete_job",
    "pause": "jobs.pause_queue",
    "scale": "jobs.scale_queue",
}
# The operator actions on jobs and on queues; resume needs what pause needs.
JOB_ACTIONS = ("retry", "cancel", "delete")
QUEUE_ACTIONS = ("pause", "resume", "scale")


@dataclass(frozen=True)
class Access:
    view_jobs: bool = False
    view_args: bool = False
    retry: bool = False
    cancel: bool = False
    delete: bool = False
    pause: bool = False
    scale: bool = False

    def may(self, action: str) -> bool:
        """May the user run `action` (one of JOB_ACTIONS or QUEUE_ACTIONS)?"""
        return bool(getattr(self, "pause" if action == "resume" else action, False))

    @property
    def job_actions(self) -> list[str]:
        return [action for action in JOB_ACTIONS if self.may(action)]


def resolve_access(user) -> Access:
    if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
        return Access()
    return Access(**{flag: bool(user.has_perm(perm)) for flag, perm in PERMISSIONS.items()})
