"""The states a job moves through."""

from __future__ import annotations

from django.db import models


class JobState(models.TextChoices):
    AVAILABLE = "available"
    SCHEDULED = "scheduled"
    EXECUTING = "executing"
    RETRYABLE = "retryable"
    COMPLETED = "completed"
    DISCARDED = "discarded"
    CANCELLED = "cancelled"
    # A workflow step waiting for its deps (Oban 2.21's name): never claimed, rescued, staged
    # or pruned; the step's last dep settling makes it available (workflows.jobs.api.workflows).
    SUSPENDED = "suspended"


ALL_STATES: tuple[str, ...] = tuple(JobState.values)
FINAL_STATES: tuple[str, ...] = (JobState.COMPLETED, JobState.DISCARDED, JobState.CANCELLED)
UNFINISHED_STATES: tuple[str, ...] = tuple(s for s in ALL_STATES if s not in FINAL_STATES)
# A unique job's states are stored as a bitmask computed in the database: jobs_state_bit()
# in workflows/jobs/store/schema.sql is the only place that numbers the states.
