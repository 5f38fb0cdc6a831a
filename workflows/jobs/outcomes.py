"""What a worker's perform() may return, as values: Snooze, Discard, Cancel, Error.

None or any other value means the job completed. Raising an exception is the same as
returning Error with the exception.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Snooze:
    """Run again after `seconds`; a snooze does not use up an attempt."""

    seconds: int

    def __post_init__(self) -> None:
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int) or self.seconds < 0:
            raise ValueError(f"Snooze needs a whole number of seconds >= 0, got {self.seconds!r}.")


@dataclass(frozen=True)
class Discard:
    """The job cannot succeed (non-recoverable): discard it now, whatever attempts remain."""

    reason: str = "discarded by the worker"


@dataclass(frozen=True)
class Cancel:
    """The job is no longer wanted: cancel it."""

    reason: str = "cancelled by the worker"


@dataclass(frozen=True)
class Error:
    """The attempt failed: retry after backoff, or discard once the attempts are spent."""

    reason: str = "the worker returned an error"


class JobTimeout(BaseException):
    """Raised inside perform() when the job exceeds its timeout.

    A BaseException, so `except Exception` in worker code does not swallow it.
    """


class JobCancelledWhileRunning(BaseException):
    """Raised inside perform() when cancel_job() cancels the running job."""
