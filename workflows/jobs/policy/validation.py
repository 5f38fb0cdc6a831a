"""Checking a job's args and options before anything is written, with errors that say the fix."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

from workflows.jobs.conf import jobs_settings
from workflows.jobs.policy.errors import JobValidationError
from workflows.jobs.policy.unique import Unique

__all__ = ["JobValidationError"]

# Python writes floats from 1e16 up in exponent form; jsonb stores them as exact decimals.
JSONB_FLOAT_LIMIT = 1e16
# Deeper args are refused before Python's recursion limit (or PostgreSQL's) is reached.
MAX_JSON_DEPTH = 64
MAX_WORKER_PATH_CHARS = 255
MAX_TAGS = 50
# PostgreSQL's bigint: job ids.
MAX_JOB_ID = 2**63 - 1


def _json_problem(value: Any, path: str, depth: int = 0) -> str | None:
    """The first value under `path` that would not survive a JSON round trip unchanged."""
    if depth > MAX_JSON_DEPTH:
        return (
            f"{path} nests more than {MAX_JSON_DEPTH} levels deep; flatten the structure or "
            f"store it in a table and pass its id"
        )
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"{path} is {value!r}, which JSON cannot hold"
        if abs(value) >= JSONB_FLOAT_LIMIT:
            # jsonb keeps numbers as decimals and prints 3.755848848566637e+16 back as the
            # integer 37558488485666370: a different number, and an int.
            return (
                f"{path} is the float {value!r}, which PostgreSQL's jsonb gives back as an "
                f"integer (floats of 1e16 or more); pass an int or a string"
            )
        return None
    if isinstance(value, str):
        if "\x00" in value:
            return f"{path} contains a NUL character, which PostgreSQL's jsonb cannot store"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{path} contains an unpaired surrogate, which is not valid UTF-8"
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _json_problem(item, f"{path}[{index}]", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has the key {key!r}; JSON object keys must be strings"
            problem = _json_problem(key, f"{path} key {key[:40]!r}")
            if problem:
                return problem
            problem = _json_problem(item, f"{path}[{key[:40]!r}]", depth + 1)
            if problem:
                return problem
        return None
    return (
        f"{path} is a {type(value).__name__}, which does not survive a JSON round trip "
        f"(use only dict, list, str, int, float, bool and None)"
    )


def json_text(value: Any) -> str:
    """The JSON the engine stores for args and meta (compact, UTF-8 kept)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def check_json_object(value: Any, name: str, *, max_bytes: int | None = None) -> str:
    """Refuse what is not a JSON object surviving a round trip; return its JSON text."""
    if not isinstance(value, dict):
        raise JobValidationError(
            f"{name} must be a JSON object (a dict with string keys), got {type(value).__name__}."
        )
    return check_json_value(value, name, max_bytes=max_bytes, instead="pass its id")


def check_json_value(
    value: Any, name: str, *, max_bytes: int | None = None, instead: str = "return its id"
) -> str:
    """Like check_json_object, for any JSON value (a recorded result may be a list, a string,
    a number, ... or None); return its JSON text. `instead` ends the too-large message."""
    problem = _json_problem(value, name)
    if problem:
        raise JobValidationError(problem + ".")
    text = json_text(value)
    if max_bytes is not None and len(text.encode()) > max_bytes:
        raise JobValidationError(
            f"{name} is {len(text.encode())} bytes of JSON, more than the {max_bytes} allowed: "
            f"store large data in a table and {instead}."
        )
    return text


def checked_json_text(
    value: Any, name: str, *, validated: tuple[Any, str] | None, max_bytes: int
) -> str:
    """The JSON text of `value`, checked. Worker.new() captures args and meta: validated and
    serialised once; a job whose args (or meta) object was replaced since is checked again."""
    if validated is not None and value is validated[0]:
        return validated[1]
    return check_json_object(value, name, max_bytes=max_bytes)


def check_priority(priority: Any) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9:
        raise JobValidationError(
            f"priority must be a whole number from 0 (first) to 9; got {priority!r}."
        )
    return priority


def check_max_attempts(max_attempts: Any) -> int:
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise JobValidationError(f"max_attempts must be a whole number >= 1; got {max_attempts!r}.")
    if max_attempts > 1000:
        raise JobValidationError(f"max_attempts must be at most 1000; got {max_attempts}.")
    return max_attempts


def check_queue(queue: Any) -> str:
    queues = jobs_settings().queues
    if not isinstance(queue, str) or queue not in queues:
        names = list(queues)
        raise JobValidationError(
            f"unknown queue {queue!r}: queues are defined in settings.JOBS['queues'] "
            f"(JOBS_QUEUES); defined: {', '.join(names)}."
        )
    return queue


def check_tags(tags: Any) -> list[str]:
    if isinstance(tags, list | tuple) and not tags:
        return []
    if isinstance(tags, str) or not isinstance(tags, list | tuple):
        raise JobValidationError(f"tags must be a list of strings; got {type(tags).__name__}.")
    if len(tags) > MAX_TAGS:
        raise JobValidationError(
            f"a job has at most {MAX_TAGS} tags; got {len(tags)}. Tags label jobs for search: "
            f"put data in args."
        )
    for tag in tags:
        if not isinstance(tag, str) or not tag or len(tag) > 100 or _json_problem(tag, "tag"):
            raise JobValidationError(
                f"each tag must be a string of 1 to 100 characters; got {tag!r}."
            )
    return list(dict.fromkeys(tags))


def check_schedule(scheduled_at: Any, schedule_in: Any, now: datetime) -> datetime | None:
    if scheduled_at is not None and schedule_in is not None:
        raise JobValidationError("give scheduled_at or schedule_in, not both.")
    if scheduled_at is not None:
        if not isinstance(scheduled_at, datetime):
            raise JobValidationError(
                f"scheduled_at must be a datetime; got {type(scheduled_at).__name__}."
            )
        if scheduled_at.tzinfo is None or scheduled_at.utcoffset() is None:
            raise JobValidationError(
                "scheduled_at has no time zone: pass an aware datetime, e.g. "
                "django.utils.timezone.now() + timedelta(minutes=5)."
            )
        return scheduled_at
    if schedule_in is not None:
        if isinstance(schedule_in, timedelta):
            seconds = schedule_in.total_seconds()
        elif isinstance(schedule_in, int | float) and not isinstance(schedule_in, bool):
            seconds = float(schedule_in)
        else:
            raise JobValidationError(
                f"schedule_in must be seconds or a timedelta; got {schedule_in!r}."
            )
        if not math.isfinite(seconds) or seconds < 0 or seconds > 10 * 365 * 86400:
            raise JobValidationError(
                f"schedule_in must be between 0 seconds and 10 years; got {schedule_in!r}."
            )
        return now + timedelta(seconds=seconds)
    return None


def check_worker_path(worker: Any) -> str:
    if not isinstance(worker, str) or not worker:
        raise JobValidationError("worker must be the dotted path of a Worker class.")
    if len(worker) > MAX_WORKER_PATH_CHARS:
        raise JobValidationError(
            f"worker path is {len(worker)} characters, more than the {MAX_WORKER_PATH_CHARS} "
            f"the jobs table holds: give the Worker class a shorter module path."
        )
    return worker


def check_job_ids(job_ids: Any) -> list[int]:
    """Job ids as PostgreSQL's bigint holds them; anything else is refused before SQL."""
    if isinstance(job_ids, str | bytes) or not hasattr(job_ids, "__iter__"):
        raise JobValidationError(f"job ids must be a list of whole numbers; got {job_ids!r}.")
    ids = list(job_ids)
    for job_id in ids:
        if isinstance(job_id, bool) or not isinstance(job_id, int):
            raise JobValidationError(f"a job id is a whole number; got {job_id!r}.")
        if not 1 <= job_id <= MAX_JOB_ID:
            raise JobValidationError(
                f"job id {job_id} is out of range: ids are from 1 to {MAX_JOB_ID}."
            )
    return ids


def check_unique(unique: Any) -> Unique | None:
    if unique is None or unique is False:
        return None
    if unique is True:
        return Unique()
    if not isinstance(unique, Unique):
        raise JobValidationError(
            f"unique must be a Unique(...) or None; got {type(unique).__name__}."
        )
    return unique
