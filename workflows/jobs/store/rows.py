"""Turning the engine's SQL rows into Job instances and back."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone

from workflows.jobs.policy.validation import json_text
from workflows.jobs.store import sql

_JSON_COLUMNS = {"args", "meta", "errors", "result"}


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


_UNCLAIMED_FIELDS = {
    "completed_at": None,
    "discarded_at": None,
    "cancelled_at": None,
    "uniq_key": None,
    "uniq_window": None,
    "uniq_states": 0,
    "last_outcome": None,
    "result": None,
}


def job_from_claim(data: dict[str, Any], node: str) -> Any:
    """A Job from one element of jobs_claim()'s jsonb result, as Model.from_db would build
    it but without running Model.__init__ per job: every concrete field is set here."""
    from django.db.models.base import ModelState

    from workflows.jobs.models import Job

    job = Job.__new__(Job)
    job.__dict__.update(_UNCLAIMED_FIELDS)
    job.__dict__.update(data)
    for name in _CLAIM_TIME_FIELDS:
        if job.__dict__.get(name):
            job.__dict__[name] = datetime.fromisoformat(job.__dict__[name])
    job.state, job.attempted_by, job.conflict = "executing", [node], False
    job._state = ModelState()
    job._state.adding, job._state.db = False, "default"
    return job


def attempt_key(job, node: str) -> dict[str, Any]:
    """The parameters that identify one claimed attempt (see sql._OWNED)."""
    return {"id": job.pk, "attempt": job.attempt, "node": node, "attempted_at": job.attempted_at}


def error_entry(attempt: int, text: str) -> str:
    """One entry of a job's error history, as the jsonb text appended to `errors`."""
    return json_text([{"attempt": attempt, "at": timezone.now().isoformat(), "error": text}])
