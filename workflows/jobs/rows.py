"""Turning the engine's SQL rows into Job instances and back."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from workflows.jobs import sql

_JSON_COLUMNS = {"args", "meta", "errors"}


def decode_json(value: Any) -> Any:
    """Django's psycopg setup hands jsonb over as text; a plain psycopg connection decodes it."""
    if isinstance(value, str | bytes | bytearray):
        return json.loads(value)
    return value


def job_from_row(row) -> Any:
    from workflows.jobs.models import Job

    values = [
        decode_json(value) if column in _JSON_COLUMNS else value
        for column, value in zip(sql.JOB_COLUMNS, row, strict=True)
    ]
    job = Job.from_db("default", sql.JOB_COLUMNS, values)
    job.conflict = False
    return job


_CLAIM_TIME_FIELDS = ("scheduled_at", "attempted_at", "inserted_at")


def job_from_claim(data: dict[str, Any], node: str) -> Any:
    """A Job from one element of jobs_claim()'s jsonb result."""
    from workflows.jobs.models import Job

    fields = dict(data)
    for name in _CLAIM_TIME_FIELDS:
        if fields.get(name):
            fields[name] = datetime.fromisoformat(fields[name])
    job = Job(state="executing", attempted_by=[node], **fields)
    job._state.adding = False
    job.conflict = False
    return job


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
