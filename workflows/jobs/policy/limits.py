"""A queue's rate limit and partitioned limit as values: validated when built, stored as JSON
in jobs_queue (the claim, jobs_claim() in store/schema.sql, reads them there)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workflows.jobs.policy.errors import JobValidationError

# jobs_queue's JSON holds PostgreSQL integers; nothing sensible comes near these.
MAX_RATE_ALLOWED = 1_000_000
MAX_RATE_PERIOD_SECONDS = 86_400  # one day: the claim keeps every start of the window
MAX_PARTITION_LIMIT = 1_000_000
MAX_PARTITION_KEYS = 8
# What an args key may be: the JSON object keys the project's workers use (post_id, author_id).
ARGS_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _whole(value: object, name: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise JobValidationError(
            f"{name} must be a whole number from 1 to {maximum:,}; got {value!r}."
        )
    return value


@dataclass(frozen=True)
class RateLimit:
    """At most `allowed` jobs of the queue start, across all nodes, in any window of
    `period_seconds` (a sliding window over claim times; docs/job-engine.md)."""

    allowed: int
    period_seconds: int

    def __post_init__(self) -> None:
        _whole(self.allowed, "RateLimit allowed", MAX_RATE_ALLOWED)
        _whole(self.period_seconds, "RateLimit period_seconds", MAX_RATE_PERIOD_SECONDS)

    def as_json(self) -> dict[str, int]:
        return {"allowed": self.allowed, "period_seconds": self.period_seconds}

    def __str__(self) -> str:
        return f"{self.allowed}/{self.period_seconds}s"


@dataclass(frozen=True)
class Partition:
    """At most `limit` jobs executing per partition value, across all nodes: the values of the
    args `keys`, and/or the worker (`by_worker`). Jobs without the keys form one partition."""

    limit: int
    keys: list[str] | None = None
    by_worker: bool = False

    def __init__(
        self, keys: list[str] | None = None, by_worker: bool = False, *, limit: int
    ) -> None:
        if keys is not None:
            if isinstance(keys, str) or not isinstance(keys, list | tuple):
                raise JobValidationError(
                    f"Partition keys must be a list of args keys, e.g. ['author_id']; got {keys!r}."
                )
            keys = list(keys)
            bad = [key for key in keys if not isinstance(key, str) or not ARGS_KEY.match(key)]
            if bad or not keys or len(keys) > MAX_PARTITION_KEYS or len(set(keys)) != len(keys):
                raise JobValidationError(
                    f"Partition keys must be 1 to {MAX_PARTITION_KEYS} distinct args keys "
                    f"(letters, digits, _; not starting with a digit); got {keys!r}."
                )
        if not isinstance(by_worker, bool):
            raise JobValidationError(
                f"Partition by_worker must be True or False; got {by_worker!r}."
            )
        if not keys and not by_worker:
            raise JobValidationError(
                "a Partition needs args keys (keys=['author_id']) or by_worker=True."
            )
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "by_worker", by_worker)
        object.__setattr__(self, "limit", _whole(limit, "Partition limit", MAX_PARTITION_LIMIT))

    def as_json(self) -> dict[str, Any]:
        return {"keys": list(self.keys or []), "by_worker": self.by_worker, "limit": self.limit}

    def __str__(self) -> str:
        fields = [*(self.keys or []), *(["worker"] if self.by_worker else [])]
        return f"{'+'.join(fields)}:{self.limit}"


def rate_limit_from(value: Any) -> RateLimit | None:
    """A RateLimit from a setting or a stored row: None, a RateLimit, or a mapping with
    allowed and period_seconds."""
    if value is None or isinstance(value, RateLimit):
        return value
    if isinstance(value, dict) and set(value) == {"allowed", "period_seconds"}:
        return RateLimit(allowed=value["allowed"], period_seconds=value["period_seconds"])
    raise JobValidationError(
        f"a rate limit is RateLimit(allowed=N, period_seconds=S) or "
        f"{{'allowed': N, 'period_seconds': S}}; got {value!r}."
    )


def partition_from(value: Any) -> Partition | None:
    """A Partition from a setting or a stored row: None, a Partition, or a mapping with limit
    and keys and/or by_worker."""
    if value is None or isinstance(value, Partition):
        return value
    if (
        isinstance(value, dict)
        and "limit" in value
        and set(value) <= {"keys", "by_worker", "limit"}
    ):
        return Partition(
            keys=value.get("keys") or None,
            by_worker=value.get("by_worker", False),
            limit=value["limit"],
        )
    raise JobValidationError(
        f"a partition is Partition(keys=[...], by_worker=False, limit=N) or "
        f"{{'keys': [...], 'limit': N}}; got {value!r}."
    )


def parse_rate_limit(text: str) -> RateLimit | None:
    """'10/1' (allowed/period_seconds), as the command line and the environment give it;
    'none' or 'off' for no rate limit."""
    if text.strip().lower() in ("none", "off"):
        return None
    allowed, sep, period = text.strip().partition("/")
    if not sep or not allowed.strip().isdigit() or not period.strip().isdigit():
        raise JobValidationError(
            f"a rate limit is ALLOWED/PERIOD_SECONDS, e.g. 10/1 for 10 jobs per second, or "
            f"'none'; got {text!r}."
        )
    return RateLimit(allowed=int(allowed), period_seconds=int(period))


def parse_partition(text: str) -> Partition | None:
    """'author_id:2' or 'clinic_id+author_id:1' (args keys joined by +, 'worker' for the
    worker) with the limit after the colon; 'none' or 'off' for no partition."""
    if text.strip().lower() in ("none", "off"):
        return None
    fields, sep, limit = text.strip().rpartition(":")
    if not sep or not fields or not limit.strip().isdigit():
        raise JobValidationError(
            f"a partition is KEY[+KEY...]:LIMIT (args keys, or 'worker'), e.g. author_id:2, "
            f"or 'none'; got {text!r}."
        )
    names = [name.strip() for name in fields.split("+")]
    keys = [name for name in names if name != "worker"]
    return Partition(keys=keys or None, by_worker="worker" in names, limit=int(limit))
