"""Unique jobs: the options, and the key that the database's exclusion constraint compares.

Two unique jobs conflict when their keys are equal, their unique windows
[inserted_at, inserted_at + period) overlap, and the existing one is still in one of its
unique states (the key is cleared when a job leaves them). See docs/job-engine.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from workflows.jobs.policy.errors import JobValidationError
from workflows.jobs.policy.states import ALL_STATES, JobState

UNIQUE_FIELDS = ("args", "queue", "worker", "meta")
REPLACEABLE_FIELDS = ("args", "max_attempts", "meta", "priority", "scheduled_at", "tags")
DEFAULT_UNIQUE_STATES = (
    JobState.SCHEDULED,
    JobState.AVAILABLE,
    JobState.EXECUTING,
    JobState.RETRYABLE,
    JobState.COMPLETED,
)


# Longer than this, a unique window would overflow PostgreSQL's timestamps; None is "forever".
MAX_UNIQUE_PERIOD_SECONDS = 100 * 365 * 86400


class UniqueOptionError(JobValidationError):
    """A Unique(...) option cannot be used as given."""


@dataclass(frozen=True)
class Unique:
    """Options for a unique job; set on a Worker class or passed to new(..., unique=...)."""

    period: int | None = 60
    fields: tuple[str, ...] = ("args", "queue", "worker")
    keys: tuple[str, ...] = ()
    states: tuple[str, ...] = DEFAULT_UNIQUE_STATES
    replace: dict[str, list[str]] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "keys", tuple(self.keys))
        object.__setattr__(self, "states", tuple(str(s) for s in self.states))
        if self.period is not None and (
            isinstance(self.period, bool) or not isinstance(self.period, int) or self.period < 1
        ):
            raise UniqueOptionError(
                f"Unique period must be a whole number of seconds >= 1, or None for no time "
                f"limit; got {self.period!r}."
            )
        if self.period is not None and self.period > MAX_UNIQUE_PERIOD_SECONDS:
            raise UniqueOptionError(
                f"Unique period must be at most {MAX_UNIQUE_PERIOD_SECONDS} seconds (100 years); "
                f"got {self.period!r}. Use period=None for no time limit."
            )
        if not self.fields or set(self.fields) - set(UNIQUE_FIELDS):
            raise UniqueOptionError(
                f"Unique fields must be a non-empty subset of {UNIQUE_FIELDS}; got {self.fields!r}."
            )
        if self.keys and "args" not in self.fields:
            raise UniqueOptionError("Unique keys select args keys, so fields must include 'args'.")
        if not all(isinstance(f, str) for f in self.fields):
            raise UniqueOptionError(f"Unique fields must be strings; got {self.fields!r}.")
        if not all(isinstance(k, str) for k in self.keys):
            raise UniqueOptionError(f"Unique keys must be strings; got {self.keys!r}.")
        unknown_states = set(self.states) - set(ALL_STATES)
        if not self.states or unknown_states:
            raise UniqueOptionError(
                f"Unique states must be a non-empty subset of {ALL_STATES}; "
                f"unknown: {sorted(unknown_states)}."
            )
        for state, names in (self.replace or {}).items():
            if state not in ALL_STATES:
                raise UniqueOptionError(f"Unique replace names an unknown state '{state}'.")
            bad = set(names) - set(REPLACEABLE_FIELDS)
            if bad:
                raise UniqueOptionError(
                    f"Unique replace can overwrite {REPLACEABLE_FIELDS}; not {sorted(bad)}."
                )


def unique_key(
    option: Unique, *, worker: str, queue: str, args: dict[str, Any], meta: dict[str, Any]
) -> str:
    """A stable digest of the compared fields: equal jobs give equal keys."""
    compared: dict[str, Any] = {}
    if "worker" in option.fields:
        compared["worker"] = worker
    if "queue" in option.fields:
        compared["queue"] = queue
    if "args" in option.fields:
        compared["args"] = (
            {key: args[key] for key in option.keys if key in args} if option.keys else args
        )
    if "meta" in option.fields:
        compared["meta"] = meta
    canonical = json.dumps(compared, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
