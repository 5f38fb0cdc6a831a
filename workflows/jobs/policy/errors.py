"""The engine's errors: one root, so a caller can catch everything the engine refuses."""

from __future__ import annotations


class JobsError(Exception):
    """Root of every error the job engine raises on purpose."""


class JobValidationError(JobsError, ValueError):
    """A job, an option or an operation's argument cannot be used as given; the message names
    the field and the fix. Raised before any SQL runs, so the caller's transaction is intact."""


class UnknownQueueError(JobsError, LookupError):
    """A queue name that settings.JOBS['queues'] does not define."""


class CrontabError(JobsError, ValueError):
    """A crontab entry in settings that cannot be used; the message names the entry and why."""
