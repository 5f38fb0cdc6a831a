"""The validation pipeline, run in-process through the real job path (drain_queue)."""

import random

import pytest
from django.db import transaction

from healthcare_cms.content.models import Post
from healthcare_cms.content.services import post_create, post_update
from healthcare_cms.privacy.identifiers import cpf_generate
from tests.factories import UserFactory
from workflows.analyzers import analyzer_info
from workflows.jobs import Job, insert
from workflows.jobs.models import JobWorkflow
from workflows.jobs.testing import assert_enqueued, drain_queue, perform_job, refute_enqueued
from workflows.medical.models import StageResult
from workflows.medical.workers import MedicalWorkflowWorker

pytestmark = pytest.mark.django_db

CLEAN_MEDICAL = (
    "MÉDICO: Dra. Ana Souza, CRM/SP 123456 — Cardiologista: RQE nº 6789.\n"
    "Medir a pressão arterial com regularidade ajuda no acompanhamento. "
    "Consulta: R$ 350,00."
)


def _create(body, *, title="Post", category="cardiology"):
    return post_create(author=UserFactory(), title=title, body=body, medical_category=category)


def test_saving_a_post_enqueues_its_lgpd_analysis_in_the_same_transaction():
    post = _create(CLEAN_MEDICAL)
    assert_enqueued(
        worker=MedicalWorkflowWorker, args={"post_id": post.pk, "stage": "s21_lgpd_analysis"}
    )
    job = Job.objects.get(step="lgpd")
    assert (job.queue, job.max_attempts, job.priority) == ("medical_workflow", 3, 0)
    # One workflow: the later stages wait for the one before.
    steps = dict(Job.objects.values_list("step", "state"))
    assert steps == {"lgpd": "available", "claims": "suspended", "cfm": "suspended"}
    assert Post.objects.get(pk=post.pk).workflow_status == "analyzing"


def test_a_rolled_back_save_starts_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        _create(CLEAN_MEDICAL)
        raise RuntimeError("roll back")
    refute_enqueued(worker=MedicalWorkflowWorker)


def test_a_clean_medical_post_passes_all_three_stages_and_is_approved():
    post = _create(CLEAN_MEDICAL)
    assert drain_queue("medical_workflow") == {
        "success": 3,
        "failure": 0,
        "discard": 0,
        "cancelled": 0,
        "snoozed": 0,
    }
    post.refresh_from_db()
    assert post.workflow_status == "approved" and post.phi_detected is False
    stages = list(StageResult.objects.filter(post=post).values_list("stage", "outcome"))
    assert stages == [
        ("s21_lgpd_analysis", "passed"),
        ("s31_claims_extraction", "passed"),
        ("s41_cfm_validation", "passed"),
    ]
    manifest = {name: analyzer_info(name) for name in ("lgpd", "claims", "cfm")}
    for result in StageResult.objects.filter(post=post):
        info = manifest[result.analyzer]
        assert result.analyzer_version == info["version"] and len(info["sha256"]) == 64
        assert result.analyzer_sha256 == info["sha256"] and result.content_version == 1


def test_the_product_spec_example_scores_85():
    post = _create("Patient John Doe has diabetes", category="general_practice")
    result = perform_job(MedicalWorkflowWorker, {"post_id": post.pk, "stage": "s21_lgpd_analysis"})
    assert type(result).__name__ == "Cancel", "sensitive data: the later stages do not run"
    post.refresh_from_db()
    assert post.phi_detected is True and post.lgpd_risk_score == 85


def test_portuguese_patient_data_scores_higher_and_blocks_the_post():
    cpf = cpf_generate(random.Random(5))
    post = _create(f"Paciente João da Silva, diabético, CPF {cpf}.")
    drain_queue("medical_workflow")
    post.refresh_from_db()
    assert post.phi_detected and post.lgpd_risk_score > 85
    assert post.workflow_status == "blocked"
    result = StageResult.objects.get(post=post)
    assert {f["rule"] for f in result.findings} >= {"cpf", "patient_name", "health_term"}
    assert cpf not in str(result.findings) and "João" not in str(result.findings), (
        "findings keep offsets, never the matched text"
    )
    assert result.findings[0]["legal_reference"]
    assert not StageResult.objects.filter(stage="s31_claims_extraction").exists(), (
        "a stage that does not pass stops the pipeline"
    )


def test_a_stage_that_does_not_pass_cancels_the_later_ones_with_its_reasons():
    cpf = cpf_generate(random.Random(7))
    post = _create(f"Paciente João da Silva, diabético, CPF {cpf}.")
    counts = drain_queue("medical_workflow")
    assert (counts["success"], counts["cancelled"]) == (0, 1)
    steps = {job.step: job for job in Job.objects.filter(workflow__isnull=False)}
    assert {name: job.state for name, job in steps.items()} == {
        "lgpd": "cancelled",
        "claims": "cancelled",
        "cfm": "cancelled",
    }
    assert JobWorkflow.objects.get().name == f"post {post.pk} v1 validation"
    for name in ("claims", "cfm"):
        reason = steps[name].last_error
        assert "S.2.1 LGPD analysis judged the post blocked; later stages skipped." in reason
        assert "LGPD art. 5 II" in reason
        assert cpf not in reason and "João" not in reason
    assert steps["claims"].last_error.startswith("Cancelled: dep 'lgpd'")
    assert steps["cfm"].last_error.startswith("Cancelled: dep 'claims'")


def test_cfm_violations_block_with_their_legal_references():
    post = _create(
        "MÉDICO: Dr. Bruno Lima, CRM/RJ 654321. O melhor dermatologista do Brasil! "
        "Primeira consulta grátis.",
        category="dermatology",
    )
    drain_queue("medical_workflow")
    post.refresh_from_db()
    assert post.workflow_status == "blocked"
    cfm = StageResult.objects.get(post=post, stage="s41_cfm_validation")
    assert cfm.outcome == "blocked"
    assert {f["rule"] for f in cfm.findings} >= {"superlative_title", "free_consultation_bait"}
    assert all("2.336/2023" in reason for reason in cfm.reasons)


def test_saving_the_same_content_twice_starts_one_run():
    post = _create(CLEAN_MEDICAL)
    post = post_update(post=post, actor=post.author, medical_category="oncology")
    post.save()
    assert Job.objects.filter(worker__endswith="MedicalWorkflowWorker").count() == 3
    assert JobWorkflow.objects.count() == 1
    drain_queue("medical_workflow")
    Post.objects.get(pk=post.pk).save()
    assert Job.objects.filter(args__stage="s21_lgpd_analysis").count() == 1


def test_an_edit_during_a_run_stops_the_stale_run_without_overwriting_newer_results():
    post = _create(CLEAN_MEDICAL)
    stale = Job.objects.get(step="lgpd", args__content_version=1)
    post_update(post=post, actor=post.author, body="Paciente Maria Souza tem câncer.")
    result = perform_job(MedicalWorkflowWorker, stale.args)
    assert type(result).__name__ == "Cancel" and "changed" in result.reason
    assert not StageResult.objects.filter(content_version=1).exists()
    drain_queue("medical_workflow")
    post.refresh_from_db()
    assert post.content_version == 2 and post.phi_detected and post.workflow_status == "blocked"


def test_an_unknown_stage_is_discarded_with_a_clear_reason():
    post = _create(CLEAN_MEDICAL)
    insert(MedicalWorkflowWorker.new({"post_id": post.pk, "stage": "s99_magic"}))
    counts = drain_queue("medical_workflow")
    assert counts["discard"] == 1
    job = Job.objects.get(args__stage="s99_magic")
    assert "unknown stage 's99_magic'" in job.errors[0]["error"]


@pytest.mark.parametrize(
    ("title", "body", "problem"),
    [
        ("Huge", "x" * (2 * 1024 * 1024), "over the"),
        ("   ", "\n\t ", "empty"),
    ],
)
def test_content_that_cannot_be_analysed_is_discarded_and_goes_to_review(title, body, problem):
    post = _create(body, title=title)
    counts = drain_queue("medical_workflow")
    assert counts["discard"] == 1
    post.refresh_from_db()
    assert post.workflow_status == "needs_review"
    result = StageResult.objects.get(post=post)
    assert result.outcome == "error" and "cannot be analysed" in result.reasons[0]
    assert problem in result.reasons[0]
    job = Job.objects.get(args__stage="s21_lgpd_analysis")
    assert job.state == "discarded" and "cannot be analysed" in job.errors[0]["error"]


def test_an_analyzer_stopped_by_its_sandbox_fails_closed(monkeypatch):
    from tests.analyzers.test_sandbox import wat
    from workflows.analyzers import registry
    from workflows.analyzers.runtime import WasmAnalyzer

    looping = WasmAnalyzer.from_bytes("lgpd", wat("(loop $l (br $l)) (i64.const 0)"))
    monkeypatch.setitem(registry._loaded, "lgpd", looping)  # the real sandbox, a hostile plugin
    post = _create(CLEAN_MEDICAL)
    counts = drain_queue("medical_workflow")
    assert counts["discard"] == 1
    post.refresh_from_db()
    assert post.workflow_status == "needs_review"
    job = Job.objects.get(step="lgpd")
    assert job.state == "discarded" and "stopped by its sandbox (fuel)" in job.errors[0]["error"]
    result = StageResult.objects.get(post=post)
    assert result.outcome == "error" and "fuel" in result.reasons[0]


@pytest.mark.django_db(transaction=True)
def test_a_database_error_retries():
    from django.db import connection

    from workflows.jobs.store import database

    post = _create(CLEAN_MEDICAL)
    with database.connect(autocommit=False) as other:
        other.execute("SELECT 1 FROM content_post WHERE id = %s FOR UPDATE", [post.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        counts = drain_queue("medical_workflow")
        other.rollback()
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")
    assert counts["failure"] == 1
    job = Job.objects.get(step="lgpd")
    assert job.state == "retryable" and "LockNotAvailable" in job.errors[0]["error"]
