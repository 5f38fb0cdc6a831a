"""The engine's tables: jobs (Oban's fields), queues (persisted runtime state) and nodes."""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models.functions import Now

from workflows.jobs.policy.outcomes import Outcome
from workflows.jobs.policy.states import ALL_STATES, JobState


class Job(models.Model):
    """One unit of background work. Rows are written by the engine's SQL (workflows.jobs.store.sql);
    the ORM is for reading them."""

    id = models.BigAutoField(primary_key=True)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.AVAILABLE)
    queue = models.CharField(max_length=128, default="default")
    worker = models.CharField(max_length=255, help_text="Dotted path of the Worker class.")
    args = models.JSONField(default=dict, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    attempt = models.IntegerField(default=0)
    max_attempts = models.IntegerField(default=20)
    priority = models.SmallIntegerField(default=0, help_text="0 runs first, 9 last.")
    scheduled_at = models.DateTimeField(db_default=Now())
    attempted_at = models.DateTimeField(null=True, blank=True)
    attempted_by = ArrayField(models.CharField(max_length=200), null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    inserted_at = models.DateTimeField(db_default=Now())
    # Uniqueness: see workflows.jobs.policy.unique; the key is cleared when the job leaves them.
    uniq_key = models.CharField(max_length=64, null=True, blank=True)
    uniq_window = DateTimeRangeField(null=True, blank=True)
    uniq_states = models.SmallIntegerField(default=0)
    last_outcome = models.CharField(
        max_length=16,
        null=True,
        blank=True,
        choices=[(o.value, o.value) for o in Outcome],
        help_text="How the last attempt ended (workflows.jobs.Outcome).",
    )
    # The job's partition in a partitioned queue (jobs_partition_key() in store/schema.sql:
    # an md5 of the worker and/or args values the queue partitions by); NULL elsewhere.
    partition_key = models.CharField(max_length=32, null=True, blank=True, editable=False)

    class Meta:
        db_table = "jobs_job"
        ordering = ["-id"]
        permissions = [
            ("retry_job", "Can retry jobs"),
            ("cancel_job", "Can cancel jobs"),
            # Without it the admin shows args and meta as keys with masked values; every view
            # with it is written to the audit log (workflows.jobs.args_view).
            ("view_job_args", "Can view job args and meta unmasked"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ALL_STATES), name="jobs_job_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__gte=0, priority__lte=9), name="jobs_job_priority_range"
            ),
            models.CheckConstraint(
                condition=models.Q(max_attempts__gte=1), name="jobs_job_max_attempts_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(attempt__gte=0), name="jobs_job_attempt_non_negative"
            ),
            ExclusionConstraint(
                name="jobs_job_unique",
                index_type="gist",
                expressions=[
                    ("uniq_key", RangeOperators.EQUAL),
                    ("uniq_window", RangeOperators.OVERLAPS),
                ],
                condition=models.Q(uniq_key__isnull=False),
            ),
        ]
        indexes = [
            # The claim: equality column, then exactly the ORDER BY, only over claimable rows.
            models.Index(
                fields=["queue", "priority", "scheduled_at", "id"],
                name="jobs_job_claim",
                condition=models.Q(state="available"),
            ),
            # The partitioned claim: visit the queue's partitions in key order, each one's
            # first job by the claim order. Only partitioned queues' jobs are in it.
            models.Index(
                fields=["queue", "partition_key", "priority", "scheduled_at", "id"],
                name="jobs_job_partition",
                condition=models.Q(state="available", partition_key__isnull=False),
            ),
            models.Index(
                fields=["scheduled_at"],
                name="jobs_job_staging",
                condition=models.Q(state__in=["scheduled", "retryable"]),
            ),
            models.Index(
                fields=["queue"], name="jobs_job_executing", condition=models.Q(state="executing")
            ),
            models.Index(
                fields=["completed_at"],
                name="jobs_job_completed",
                condition=models.Q(state="completed"),
            ),
            models.Index(
                fields=["cancelled_at"],
                name="jobs_job_cancelled",
                condition=models.Q(state="cancelled"),
            ),
            models.Index(
                fields=["discarded_at"],
                name="jobs_job_discarded",
                condition=models.Q(state="discarded"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_name}#{self.pk or 'new'}"

    @property
    def worker_name(self) -> str:
        return self.worker.rsplit(".", 1)[-1]

    @property
    def last_error(self) -> str:
        if not self.errors:
            return ""
        return str(self.errors[-1].get("error", ""))

    @property
    def last_error_line(self) -> str:
        """The last line of the last error: for a traceback, the exception and its message."""
        lines = [line for line in self.last_error.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


class DeadLetter(Job):
    """Discarded jobs: evidence to inspect and retry, never to edit."""

    class Meta:
        proxy = True
        verbose_name = "dead letter"
        verbose_name_plural = "dead letters"


class Queue(models.Model):
    """A queue's persisted runtime state, obeyed by every node."""

    name = models.CharField(max_length=128, primary_key=True)
    limit = models.PositiveIntegerField(
        help_text="Jobs of this queue executing at once, across all nodes."
    )
    configured_limit = models.PositiveIntegerField(help_text="The limit last read from settings.")
    paused = models.BooleanField(default=False)
    # workflows.jobs.RateLimit / Partition as JSON (policy.limits), or NULL for none; the
    # configured_* copies are what settings said last (a changed setting replaces the runtime
    # value, an unchanged one keeps what scale_queue set).
    rate_limit = models.JSONField(null=True, blank=True)
    configured_rate_limit = models.JSONField(null=True, blank=True)
    partition = models.JSONField(null=True, blank=True)
    configured_partition = models.JSONField(null=True, blank=True)
    # The partition the claim served last: the next claim starts after it (round-robin).
    partition_cursor = models.CharField(max_length=32, null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "jobs_queue"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(limit__gte=1), name="jobs_queue_limit_positive"
            )
        ]

    def __str__(self) -> str:
        return self.name


class QueueStart(models.Model):
    """A claim's starts in a rate-limited queue: `count` jobs claimed at `started_at` (the
    database clock). jobs_claim() counts the rows inside the window and deletes old ones."""

    id = models.BigAutoField(primary_key=True)
    queue = models.CharField(max_length=128)
    started_at = models.DateTimeField()
    count = models.PositiveIntegerField()

    class Meta:
        db_table = "jobs_queue_start"
        indexes = [models.Index(fields=["queue", "started_at"], name="jobs_queue_start_window")]

    def __str__(self) -> str:
        return f"{self.queue}: {self.count} at {self.started_at}"


class Node(models.Model):
    """A running `qcluster` process: its heartbeat proves it alive."""

    name = models.CharField(max_length=200, primary_key=True)
    host = models.CharField(max_length=200)
    pid = models.IntegerField()
    queues = ArrayField(models.CharField(max_length=128), default=list)
    concurrency = models.PositiveIntegerField()
    started_at = models.DateTimeField(db_default=Now())
    heartbeat_at = models.DateTimeField(db_default=Now())
    stopping = models.BooleanField(default=False)

    class Meta:
        db_table = "jobs_node"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lease(models.Model):
    """A cluster-wide duty held by one node until `expires_at` unless renewed (the leader
    runs the stager, lifeline and pruner). A node that stops renewing loses it."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "jobs_lease"

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"
