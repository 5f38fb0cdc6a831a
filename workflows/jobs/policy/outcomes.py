"""What a worker's perform() may return, as values: Snooze, Discard, Cancel, Error.

None or any other value means the job completed. Raising an exception is the same as
returning Error with the exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """How an attempt ended: the one vocabulary of the engine (execution, the stored job's
    `last_outcome`, testing drains, the admin, compliance). The job's state then says what
    follows: a FAILED attempt leaves the job retryable, or discarded when its attempts are
    spent."""

    COMPLETED = "completed"  # perform returned None or any value
    FAILED = "failed"  # raised, returned Error, timed out, its process died, unknown worker
    DISCARDED = "discarded"  # the worker returned Discard
    CANCELLED = "cancelled"  # returned Cancel, or was cancelled while it ran
    SNOOZED = "snoozed"  # returned Snooze: scheduled again, the attempt not counted


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


@dataclass(frozen=True)
class AttemptResult:
    """What an attempt ended with, as the execution layer hands it to the store.

    `outcome` None: nothing to record (the claim was lost: the job was rescued, released or
    cancelled while it ran). `recorded` False: the outcome is known but already on the row
    (cancelled while running). `spent`: a FAILED attempt with no attempts left (discarded).
    `result_json`: a COMPLETED attempt of a worker with `record = True`: the JSON text of
    what perform returned, stored as the job's result (None: nothing is stored)."""

    outcome: Outcome | None
    delay: float = 0.0
    error: str = ""
    spent: bool = False
    recorded: bool = True
    result_json: str | None = field(default=None, repr=False)

    @property
    def discards(self) -> bool:
        """Whether the job ends discarded (dead letters)."""
        return self.outcome == Outcome.DISCARDED or (self.outcome == Outcome.FAILED and self.spent)


class JobTimeout(BaseException):
    """Raised inside perform() when the job exceeds its timeout.

    A BaseException, so `except Exception` in worker code does not swallow it.
    """


class JobCancelledWhileRunning(BaseException):
    """Raised inside perform() when cancel_job() cancels the running job."""
