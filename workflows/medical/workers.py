"""The pipeline's job: one stage of one post's validation."""

from __future__ import annotations

from workflows.jobs import DEFAULT_UNIQUE_STATES, Discard, Job, Unique, Worker, Workflow
from workflows.medical import services, stages

STAGE_TIMEOUT_SECONDS = 5 * 60


class MedicalWorkflowWorker(Worker):
    """S.2.1 LGPD analysis -> S.3.1 claims extraction -> S.4.1 CFM validation."""

    queue = "medical_workflow"
    max_attempts = 3
    priority = 0
    # One run per post, stage and content version, for as long as its jobs are kept.
    unique = Unique(
        period=None, keys=("post_id", "stage", "content_version"), states=DEFAULT_UNIQUE_STATES
    )

    def timeout(self, job: Job) -> int:
        return STAGE_TIMEOUT_SECONDS

    def perform(self, job: Job):
        stage = job.args.get("stage")
        if stage not in stages.PIPELINE:
            return Discard(f"unknown stage {stage!r}; stages are {', '.join(stages.PIPELINE)}")
        post_id = job.args.get("post_id")
        if not isinstance(post_id, int):
            return Discard(f"args must name the post as an integer post_id; got {post_id!r}")
        return services.stage_run(
            post_id=post_id,
            stage=stage,
            content_version=job.args.get("content_version"),
            # A stage job from before the pipeline was a workflow has no step.
            chained=job.step is None,
        )


def pipeline_workflow(post_id: int, content_version: int, author_id: int | None) -> Workflow:
    """One post version's validation: each stage waits for the one before. `author_id` is
    what the medical_workflow queue is partitioned by (settings: JOBS_PARTITIONS)."""
    workflow = Workflow(name=f"post {post_id} v{content_version} validation")
    previous: list[str] = []
    for stage in stages.PIPELINE:
        step = stages.STEP_OF_STAGE[stage]
        args = {
            "post_id": post_id,
            "stage": stage,
            "content_version": content_version,
            "author_id": author_id,
        }
        workflow.add(step, MedicalWorkflowWorker.new(args), deps=previous)
        previous = [step]
    return workflow
