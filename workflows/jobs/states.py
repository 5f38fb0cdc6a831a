"""The states a job moves through, and their bit positions for unique-state masks."""

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


ALL_STATES: tuple[str, ...] = tuple(JobState.values)
FINAL_STATES: tuple[str, ...] = (JobState.COMPLETED, JobState.DISCARDED, JobState.CANCELLED)
UNFINISHED_STATES: tuple[str, ...] = tuple(s for s in ALL_STATES if s not in FINAL_STATES)
# Bit of each state in jobs_job.uniq_states; the SQL in migrations mirrors this order.
STATE_BITS: dict[str, int] = {state: 1 << index for index, state in enumerate(ALL_STATES)}


def states_mask(states) -> int:
    mask = 0
    for state in states:
        mask |= STATE_BITS[state]
    return mask
