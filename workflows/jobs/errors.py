"""The engine's errors: one root, so a caller can catch everything the engine refuses."""

from __future__ import annotations


class JobsError(Exception):
    """Root of every error the job engine raises on purpose."""


class JobValidationError(JobsError, ValueError):
    """A job, an option or an operation's argument cannot be used as given; the message names
    the field and the fix. Raised before any SQL runs, so the caller's transaction is intact."""
