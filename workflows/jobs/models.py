"""The engine's tables: jobs (Oban's fields), queues (persisted runtime state) and nodes."""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F
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
    # What perform returned, for workers with `record = True` (JSON; NULL otherwise). It may
    # hold patient data: masked like args for roles without jobs.view_job_args, never logged.
    result = models.JSONField(null=True, blank=True)
    # The job's partition in a partitioned queue (jobs_partition_key() in store/schema.sql:
    # an md5 of the worker and/or args values the queue partitions by); NULL elsewhere.
    partition_key = models.CharField(max_length=32, null=True, blank=True, editable=False)
    # Model.from_db takes values in field order: store.sql.JOB_COLUMNS lists the fields above
    # in this order, store.workflows.STEP_COLUMNS adds the ones below.
    # Workflows (workflows.jobs.api.workflows): the step's workflow and name, what it does
    # when a dep fails, and how many deps it still waits for (kept by schema.sql's triggers).
    workflow = models.ForeignKey(
        "JobWorkflow",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="jobs",
    )
    step = models.CharField(max_length=128, null=True, blank=True)
    on_dep_failure = models.CharField(max_length=8, null=True, blank=True)
    deps_pending = models.IntegerField(db_default=0, default=0)

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
            models.Index(
                fields=["workflow", "step"],
                name="jobs_job_workflow",
                condition=models.Q(workflow__isnull=False),
            ),
            # A node's executing jobs (its free slots in every claim, its orphan sweep): without
            # it the planner combines jobs_job_executing with jobs_job_node_id, which holds an
            # entry for every job the node ever ran, so each claim cost grew with them.
            models.Index(
                F("attempted_by__0"),
                name="jobs_job_executing_node",
                condition=models.Q(state="executing"),
            ),
            # The dashboard's search (workflows.jobs.dashboard.search): newest first per
            # worker, state and node; args, meta and tags by containment.
            models.Index(fields=["worker", "id"], name="jobs_job_worker_id"),
            models.Index(fields=["state", "id"], name="jobs_job_state_id"),
            models.Index(F("attempted_by__0"), F("id"), name="jobs_job_node_id"),
            GinIndex(fields=["args"], opclasses=["jsonb_path_ops"], name="jobs_job_args"),
            GinIndex(fields=["meta"], opclasses=["jsonb_path_ops"], name="jobs_job_meta"),
            GinIndex(fields=["tags"], name="jobs_job_tags"),
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

    def dep_results(self) -> dict[str, object]:
        """A workflow step's deps, by step name, with their recorded results (the `result`
        of a Worker with `record = True`; None for a dep that recorded none)."""
        deps = JobDependency.objects.filter(job_id=self.pk).select_related("dep")
        return {edge.dep.step: edge.dep.result for edge in deps}

    @property
    def last_error_line(self) -> str:
        """The last line of the last error: for a traceback, the exception and its message."""
        lines = [line for line in self.last_error.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


class JobWorkflow(models.Model):
    """A workflow: jobs inserted together (workflows.jobs.insert_workflow), each a named step
    that may wait for others. Its state is its steps' states."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=200)
    inserted_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "jobs_workflow"
        ordering = ["-id"]
        verbose_name = "workflow"

    def __str__(self) -> str:
        return f"{self.name} (workflow {self.pk})"


class JobDependency(models.Model):
    """An edge of a workflow: `job` waits for `dep`. Both foreign keys are ON DELETE CASCADE
    in the database (migration 0013), so pruning a job drops its edges."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(
        Job, on_delete=models.DO_NOTHING, db_constraint=False, related_name="dep_edges"
    )
    dep = models.ForeignKey(
        Job, on_delete=models.DO_NOTHING, db_constraint=False, related_name="dependent_edges"
    )

    class Meta:
        db_table = "jobs_job_dep"
        constraints = [
            models.UniqueConstraint(fields=["dep", "job"], name="jobs_job_dep_unique"),
        ]
        indexes = [models.Index(fields=["job"], name="jobs_job_dep_job")]

    def __str__(self) -> str:
        return f"job {self.job_id} waits for job {self.dep_id}"


class DeadLetter(Job):
    """Discarded jobs: evidence to inspect and retry, never to edit."""

    class Meta:
        proxy = True
        verbose_name = "dead letter"
        verbose_name_plural = "dead letters"


class Overview(Job):
    """The dashboard's entry in the admin's Jobs section (/admin/jobs/overview/): no table of
    its own, the pages are workflows.jobs.dashboard's views."""

    class Meta:
        proxy = True
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"


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
        permissions = [
            ("pause_queue", "Can pause and resume queues"),
            ("scale_queue", "Can change a queue's limit"),
        ]
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


class JobMetric(models.Model):
    """Per minute, queue, worker and outcome: how many jobs ended so, with duration and wait
    sums and wait buckets (workflows.jobs.policy.metrics). No args. Written by the leader node
    from the jobs table (store.metrics), kept 30 days: the dashboard's charts outlive pruning."""

    minute = models.DateTimeField()
    queue = models.CharField(max_length=128)
    worker = models.CharField(max_length=255)
    outcome = models.CharField(max_length=16)
    count = models.IntegerField()
    duration_ms_sum = models.BigIntegerField(default=0)
    wait_ms_sum = models.BigIntegerField(default=0)
    wait_ms_buckets = ArrayField(models.IntegerField(), default=list)

    class Meta:
        db_table = "jobs_metric"
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "queue", "worker", "outcome"], name="jobs_metric_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.queue} {self.worker} {self.outcome}"


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
