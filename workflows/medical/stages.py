"""The pipeline's stages as data, and how each stage's analyzer result becomes an outcome.

Pure functions: the policy is tested without a database or an analyzer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.jobs import Cancel
from workflows.medical.models import Stage, StageOutcome

PIPELINE: tuple[str, ...] = (Stage.LGPD, Stage.CLAIMS, Stage.CFM)
ANALYZER_OF_STAGE = {Stage.LGPD: "lgpd", Stage.CLAIMS: "claims", Stage.CFM: "cfm"}
# The pipeline's workflow names each stage's step after its analyzer.
STEP_OF_STAGE = dict(ANALYZER_OF_STAGE)
# LGPD art. 5 II: an identified person together with a health condition is sensitive data.
SENSITIVE_RISK_SCORE = 85
# Rules about the physician's identification apply to medical publicity only.
IDENTIFICATION_RULES = {"missing_crm", "specialty_without_rqe"}


@dataclass(frozen=True)
class Judgement:
    outcome: str
    reasons: list[str]
    score: int | None = None


def next_stage(stage: str) -> str | None:
    index = PIPELINE.index(stage)
    return PIPELINE[index + 1] if index + 1 < len(PIPELINE) else None


def stopped_pipeline(stage: str, judgement: Judgement) -> Cancel:
    """The outcome of a stage that did not pass: Cancel, so the workflow cancels the later
    stages, its reasons (rules and legal references, never the matched text) in each."""
    label = Stage(stage).label
    reasons = " ".join(judgement.reasons) or "no reason recorded"
    return Cancel(f"{label} judged the post {judgement.outcome}; later stages skipped. {reasons}")


def relevant_findings(stage: str, findings: list[dict[str, Any]], *, medical: bool) -> list[dict]:
    if stage == Stage.CFM and not medical:
        return [f for f in findings if f["rule"] not in IDENTIFICATION_RULES]
    return findings


def _rules(findings: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({finding["rule"] for finding in findings}))


def judge(stage: str, result: dict[str, Any], *, medical: bool) -> Judgement:
    findings = relevant_findings(stage, result["findings"], medical=medical)
    if stage == Stage.LGPD:
        score = int(result["risk_score"])
        if not result["phi_detected"]:
            return Judgement(StageOutcome.PASSED, [], score)
        if score >= SENSITIVE_RISK_SCORE:
            return Judgement(
                StageOutcome.BLOCKED,
                [
                    f"Patient data with a health condition (sensitive data, LGPD art. 5 II and "
                    f"art. 11): {_rules(findings)}; risk {score}. Remove or anonymise it."
                ],
                score,
            )
        return Judgement(
            StageOutcome.NEEDS_REVIEW,
            [f"Patient data found: {_rules(findings)}; risk {score}."],
            score,
        )
    if stage == Stage.CLAIMS:
        unreferenced = [
            f for f in findings if f["rule"] == "claim_unreferenced" or f.get("unreferenced")
        ]
        if unreferenced:
            return Judgement(
                StageOutcome.NEEDS_REVIEW,
                [
                    f"{len(unreferenced)} medical claim(s) without a nearby reference (DOI, PMID "
                    f"or a link to a study)."
                ],
            )
        return Judgement(StageOutcome.PASSED, [])
    severe = [f for f in findings if f["severity"] in ("high", "critical")]
    others = [f for f in findings if f not in severe]
    reasons = [f"{f['rule']}: {f.get('legal_reference', '')}".strip(": ") for f in findings]
    if severe:
        return Judgement(StageOutcome.BLOCKED, reasons)
    if others:
        return Judgement(StageOutcome.NEEDS_REVIEW, reasons)
    return Judgement(StageOutcome.PASSED, [])
