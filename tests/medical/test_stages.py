"""The pipeline's policy, without a database or analyzer."""

from workflows.medical.models import StageOutcome
from workflows.medical.stages import judge, next_stage


def finding(rule, severity="medium", **extra):
    return {
        "rule": rule,
        "start": 0,
        "end": 1,
        "severity": severity,
        "legal_reference": "ref",
        **extra,
    }


def test_stages_follow_each_other_and_end():
    assert next_stage("s21_lgpd_analysis") == "s31_claims_extraction"
    assert next_stage("s31_claims_extraction") == "s41_cfm_validation"
    assert next_stage("s41_cfm_validation") is None


def test_lgpd_passes_without_patient_data_reviews_it_and_blocks_sensitive_data():
    clean = {"findings": [finding("health_term")], "phi_detected": False, "risk_score": 20}
    assert judge("s21_lgpd_analysis", clean, medical=True).outcome == StageOutcome.PASSED
    contact = {"findings": [finding("email")], "phi_detected": True, "risk_score": 25}
    assert judge("s21_lgpd_analysis", contact, medical=True).outcome == StageOutcome.NEEDS_REVIEW
    sensitive = {
        "findings": [finding("patient_name"), finding("health_term")],
        "phi_detected": True,
        "risk_score": 85,
    }
    judgement = judge("s21_lgpd_analysis", sensitive, medical=True)
    assert judgement.outcome == StageOutcome.BLOCKED and judgement.score == 85
    assert "patient_name" in judgement.reasons[0] and "art. 5 II" in judgement.reasons[0]


def test_claims_without_references_need_review():
    referenced = {"findings": [finding("claim_cure")]}
    assert judge("s31_claims_extraction", referenced, medical=True).outcome == StageOutcome.PASSED
    unreferenced = {"findings": [finding("claim_cure"), finding("claim_unreferenced")]}
    judgement = judge("s31_claims_extraction", unreferenced, medical=True)
    assert judgement.outcome == StageOutcome.NEEDS_REVIEW


def test_cfm_blocks_serious_findings_and_skips_identification_rules_for_non_medical_posts():
    severe = {"findings": [finding("guaranteed_result", "critical")]}
    assert judge("s41_cfm_validation", severe, medical=True).outcome == StageOutcome.BLOCKED
    mild = {"findings": [finding("isolated_before_after", "medium")]}
    assert judge("s41_cfm_validation", mild, medical=True).outcome == StageOutcome.NEEDS_REVIEW
    no_crm = {"findings": [finding("missing_crm", "high")]}
    assert judge("s41_cfm_validation", no_crm, medical=False).outcome == StageOutcome.PASSED
    assert judge("s41_cfm_validation", no_crm, medical=True).outcome == StageOutcome.BLOCKED
