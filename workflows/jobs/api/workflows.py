"""Workflows: jobs that wait for other jobs (chains, fan-out, fan-in), inserted together.

    wf = (Workflow(name="post 42 validation")
          .add("lgpd", MedicalWorkflowWorker.new({...}))
          .add("claims", MedicalWorkflowWorker.new({...}), deps=["lgpd"])
          .add("cfm", MedicalWorkflowWorker.new({...}), deps=["claims"]))
    jobs = insert_workflow(wf)        # {"lgpd": Job, "claims": Job, "cfm": Job}

A step with deps is inserted `suspended`: no claim, stager, lifeline or pruner selects that
state. The bookkeeping is in PostgreSQL (schema.sql: jobs_workflow_settle and friends), in
the very statement that settles a dep, so a dependent is released exactly once whatever
process dies when. When a dep ends discarded or cancelled, the dependent follows its
`on_dep_failure`: "cancel" (default), "discard", or "run" (it runs anyway). See
docs/job-engine.md, "Workflows".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workflows.jobs.api.jobs import _prepared
from workflows.jobs.conf import jobs_settings
from workflows.jobs.execution import strategies
from workflows.jobs.execution.attempt import scrub
from workflows.jobs.policy import validation
from workflows.jobs.policy.errors import JobValidationError
from workflows.jobs.policy.states import JobState
from workflows.jobs.policy.workflows import (
    StepSpec,
    check_step,
    check_workflow_name,
    topological_order,
)
from workflows.jobs.store import workflows as store_workflows

if TYPE_CHECKING:
    from workflows.jobs.models import Job

__all__ = ["Workflow", "cancel_workflow", "insert_workflow", "retry_workflow"]


@dataclass(frozen=True)
class _Step:
    spec: StepSpec
    job: Job


class Workflow:
    """A builder: name the workflow, add its steps, then insert_workflow(wf)."""

    def __init__(self, name: str):
        self.name = check_workflow_name(name)
        self._steps: list[_Step] = []

    def add(
        self,
        name: str,
        job: Job,
        *,
        deps: Iterable[str] = (),
        on_dep_failure: str = "cancel",
    ) -> Workflow:
        """Add a step: `job` from Worker.new(), run once every step named in `deps` has
        completed. Returns the workflow, for chaining."""
        from workflows.jobs.models import Job

        deps = list(deps) if not isinstance(deps, str) else deps
        spec = check_step(name, deps, on_dep_failure)
        if not isinstance(job, Job) or job.pk is not None:
            raise JobValidationError(
                f"Step '{name}': give an unsaved job from Worker.new(); got {job!r}."
            )
        if any(step.spec.name == spec.name for step in self._steps):
            raise JobValidationError(f"Two steps are named '{spec.name}'.")
        self._steps.append(_Step(spec, job))
        return self

    @property
    def steps(self) -> list[str]:
        return [step.spec.name for step in self._steps]


def _unique_states(params: dict) -> list[str]:
    """A unique step waiting for its deps holds its key as it would while available."""
    states = list(params["uniq_states"])
    if JobState.AVAILABLE in states and JobState.SUSPENDED not in states:
        states.append(JobState.SUSPENDED)
    return states


def _step_params(workflow: Workflow) -> tuple[list[_Step], list[dict], dict]:
    order = topological_order(
        [step.spec for step in workflow._steps], max_steps=jobs_settings().workflow_max_steps
    )
    steps = [workflow._steps[position] for position in order]
    prepared = []
    for step in steps:
        try:
            params = _prepared(step.job)
        except JobValidationError as exc:
            raise JobValidationError(f"Step '{step.spec.name}': {exc}") from exc
        params["uniq_states"] = _unique_states(params)
        prepared.append(params)
    columns = {
        "steps": [step.spec.name for step in steps],
        "queues": [p["queue"] for p in prepared],
        "workers": [p["worker"] for p in prepared],
        "args": [p["args"] for p in prepared],
        "metas": [p["meta"] for p in prepared],
        "tags": [validation.json_text(p["tags"]) for p in prepared],
        "max_attempts": [p["max_attempts"] for p in prepared],
        "priorities": [p["priority"] for p in prepared],
        "scheduled": [p["scheduled_at"] for p in prepared],
        "keys": [p["uniq_key"] for p in prepared],
        "periods": [p["uniq_period"] for p in prepared],
        "uniq_states": [validation.json_text(p["uniq_states"]) for p in prepared],
        "policies": [step.spec.on_dep_failure for step in steps],
        "ndeps": [len(step.spec.deps) for step in steps],
        "edge_steps": [step.spec.name for step in steps for _ in step.spec.deps],
        "edge_deps": [dep for step in steps for dep in step.spec.deps],
    }
    return steps, prepared, columns


def insert_workflow(workflow: Workflow) -> dict[str, Job]:
    """Insert every step of the workflow in the caller's transaction, in one statement: all
    of them or none. Returns {step name: saved Job}.

    Bad workflows (unknown deps, cycles, duplicate names, more than JOBS_WORKFLOW_MAX_STEPS
    steps, an invalid job) raise JobValidationError naming the step, before any SQL. When a
    unique step duplicates an existing job, nothing is inserted and the existing job's
    workflow is returned instead, each job with `conflict = True`."""
    steps, prepared, columns = _step_params(workflow)
    saved = store_workflows.insert_workflow(workflow.name, columns, prepared)
    if saved is None:
        return _existing(steps, prepared)
    jobs = {job.step: job for job in saved}
    if strategies.current_mode() == "inline":
        for step in steps:  # topological order: a released step runs after its deps
            job = jobs[step.spec.name]
            job.refresh_from_db()
            jobs[step.spec.name] = strategies.after_insert(job)
    return jobs


def _existing(steps: list[_Step], prepared: list[dict]) -> dict[str, Job]:
    found = store_workflows.find_conflicting(prepared)
    if found is None:  # the duplicate left its unique states meanwhile: rare, say so
        raise JobValidationError(
            "A unique step of this workflow conflicted with a job that then went away; "
            "insert the workflow again."
        )
    position, existing = found
    if existing.workflow_id is None:  # a job inserted on its own: only that step exists
        existing.conflict = True
        return {steps[position].spec.name: existing}
    jobs = store_workflows.workflow_steps(existing.workflow_id)
    for job in jobs:
        job.conflict = True
    return {job.step: job for job in jobs}


def cancel_workflow(workflow_id: int, *, reason: str = "") -> int:
    """Cancel every unfinished step of the workflow (running ones are told to stop).
    Returns how many were cancelled."""
    [workflow_id] = validation.check_job_ids([workflow_id])
    text = "Cancelled: the workflow was cancelled" + (f" ({reason})" if reason else "")
    return store_workflows.cancel_workflow(workflow_id, scrub(text))


def retry_workflow(workflow_id: int) -> int:
    """Retry the workflow's steps that failed (discarded or cancelled) on their own; the
    steps that followed them wait for them again. Returns how many were retried."""
    [workflow_id] = validation.check_job_ids([workflow_id])
    return store_workflows.retry_workflow(workflow_id)
