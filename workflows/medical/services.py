"""The validation pipeline's rules: when a post's validation starts, and what a stage does."""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction

from healthcare_cms.content.models import Post, WorkflowStatus
from workflows.jobs import Cancel, Discard, insert_workflow
from workflows.medical import stages
from workflows.medical.models import Stage, StageOutcome, StageResult

STATUS_OF_OUTCOME = {
    StageOutcome.NEEDS_REVIEW: WorkflowStatus.NEEDS_REVIEW,
    StageOutcome.BLOCKED: WorkflowStatus.BLOCKED,
    StageOutcome.ERROR: WorkflowStatus.NEEDS_REVIEW,
}


def analysed_text(post: Post) -> str:
    """What the analyzers read; finding offsets are character offsets into this text."""
    return f"{post.title}\n\n{post.body}"


def validation_start(*, post: Post):
    """Start validating the post's current content, unless it already was (or is being).

    The three stages are one workflow (workflows.jobs.insert_workflow): LGPD, then claims,
    then CFM, each waiting for the one before; a stage that does not pass cancels the later
    ones with its reasons. Runs in the caller's transaction: a save that rolls back starts
    nothing. Returns the first stage's job, or None when this content version was validated
    already; a save of content already being validated returns its run (conflict=True).
    """
    from workflows.medical.workers import pipeline_workflow

    already_judged = StageResult.objects.filter(
        post=post, stage=Stage.LGPD, content_version=post.content_version
    ).exists()
    if already_judged:
        return None
    jobs = insert_workflow(pipeline_workflow(post.pk, post.content_version, post.author_id))
    job = jobs[stages.STEP_OF_STAGE[Stage.LGPD]]
    if not job.conflict:
        Post.objects.filter(pk=post.pk).update(workflow_status=WorkflowStatus.ANALYZING)
    return job


def _superseded(post: Post, content_version: int) -> Cancel:
    return Cancel(
        f"post {post.pk} changed (content version {post.content_version}) while version "
        f"{content_version} was being validated; the newer version has its own run"
    )


def _record(
    *,
    post_id: int,
    stage: str,
    content_version: int,
    analysis: dict[str, Any] | None,
    judgement: stages.Judgement,
    duration_ms: int,
    chained: bool = False,
    stop_with_cancel: bool = True,
):
    """Store the stage's result and move the post on, unless the post changed meanwhile.

    A stage that does not pass returns Cancel with its reasons: the workflow then cancels
    the later stages, each naming it (what the reviewer reads on the post's pipeline).
    `chained`: a stage job from before the pipeline was a workflow enqueues the next stage
    itself, as it did then."""
    from workflows.medical.workers import MedicalWorkflowWorker

    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post_id)
        if post.content_version != content_version:
            return _superseded(post, content_version)
        findings = stages.relevant_findings(
            stage, (analysis or {}).get("findings", []), medical=post.is_medical
        )
        StageResult.objects.update_or_create(
            post=post,
            stage=stage,
            content_version=content_version,
            defaults={
                "analyzer": stages.ANALYZER_OF_STAGE[stage],
                "analyzer_version": (analysis or {}).get("version", ""),
                "analyzer_sha256": (analysis or {}).get("sha256", ""),
                "findings": [
                    {
                        key: finding.get(key)
                        for key in ("rule", "start", "end", "severity", "legal_reference")
                    }
                    for finding in findings
                ],
                "score": judgement.score,
                "outcome": judgement.outcome,
                "reasons": judgement.reasons,
                "duration_ms": duration_ms,
            },
        )
        changes: dict[str, Any] = {}
        if stage == Stage.LGPD and analysis is not None:
            changes["phi_detected"] = bool(analysis["phi_detected"])
            changes["lgpd_risk_score"] = int(analysis["risk_score"])
        following = stages.next_stage(stage)
        outcome = None
        if judgement.outcome != StageOutcome.PASSED:
            changes["workflow_status"] = STATUS_OF_OUTCOME[judgement.outcome]
            if following and stop_with_cancel:
                outcome = stages.stopped_pipeline(stage, judgement)
        elif following is None:
            changes["workflow_status"] = WorkflowStatus.APPROVED
        else:
            changes["workflow_status"] = WorkflowStatus.ANALYZING
            if chained:
                MedicalWorkflowWorker.enqueue(
                    {
                        "post_id": post.pk,
                        "stage": following,
                        "content_version": content_version,
                        # The queue is partitioned by author (settings: JOBS_PARTITIONS).
                        "author_id": post.author_id,
                    }
                )
        Post.objects.filter(pk=post.pk).update(**changes)
    return outcome


def stage_run(*, post_id: int, stage: str, content_version: int | None, chained: bool = False):
    """Run one stage for one content version. Returns a job outcome (None = done)."""
    from workflows.analyzers import AnalyzerInputError, AnalyzerTrap, run_analyzer

    post = Post.objects.filter(pk=post_id).first()
    if post is None:
        return Discard(f"post {post_id} no longer exists")
    version = post.content_version if content_version is None else content_version
    if post.content_version != version:
        return _superseded(post, version)
    analyzer = stages.ANALYZER_OF_STAGE[stage]
    started = time.monotonic()
    try:
        analysis = run_analyzer(analyzer, analysed_text(post))
    except AnalyzerInputError as exc:
        reason = f"the content cannot be analysed: {exc}"
    except AnalyzerTrap as exc:
        # Fail closed: a post the sandbox could not finish with goes to a person.
        reason = f"the {analyzer} analyzer was stopped by its sandbox ({exc.reason}): {exc}"
    else:
        judgement = stages.judge(stage, analysis, medical=post.is_medical)
        return _record(
            post_id=post_id,
            stage=stage,
            content_version=version,
            analysis=analysis,
            judgement=judgement,
            duration_ms=int((time.monotonic() - started) * 1000),
            chained=chained,
        )
    outcome = _record(
        post_id=post_id,
        stage=stage,
        content_version=version,
        analysis=None,
        judgement=stages.Judgement(StageOutcome.ERROR, [reason]),
        duration_ms=int((time.monotonic() - started) * 1000),
        stop_with_cancel=False,
    )
    # Discarded (the later stages follow it, cancelled), unless the post changed meanwhile.
    return outcome or Discard(reason)
