"""LGPD risk scoring (the table in docs/analyzers.md) and the product-spec examples."""

from __future__ import annotations

import pytest

from workflows.analyzers.scoring import phi_detected, risk_score


@pytest.mark.parametrize(
    ("kinds", "score"),
    [
        ([], 0),
        (["health_term"], 20),
        (["cid10", "health_term", "health_term"], 20),
        (["cpf"], 40),
        (["cns"], 40),
        (["rg"], 40),
        (["patient_name"], 30),
        (["birth_date"], 30),
        (["phone"], 25),
        (["email"], 25),
        (["cep"], 25),
        (["phone", "email"], 30),
        (["patient_name", "phone"], 35),
        (["cpf", "patient_name"], 45),
        (["cpf", "cns", "rg", "phone", "email", "cep", "patient_name", "birth_date"], 60),
        (["patient_name", "health_term"], 85),
        (["patient_name", "patient_name", "cid10"], 85),
        (["patient_name", "cpf", "health_term"], 90),
        (["patient_name", "cpf", "phone", "health_term"], 95),
        (["cpf", "cns", "rg", "phone", "email", "cep", "patient_name", "birth_date", "cid10"], 100),
    ],
)
def test_the_scoring_table(kinds, score):
    assert risk_score(kinds) == score


def test_phi_means_at_least_one_identifier():
    assert not phi_detected([])
    assert not phi_detected(["health_term", "cid10"])
    assert phi_detected(["cep"])


def test_the_product_spec_example_scores_exactly_85(engine):
    result = engine("lgpd", "Patient John Doe has diabetes")
    assert (result["phi_detected"], result["risk_score"]) == (True, 85)


def test_the_portuguese_example_with_a_cpf_scores_higher(engine):
    english = engine("lgpd", "Patient John Doe has diabetes")["risk_score"]
    result = engine("lgpd", "Paciente João da Silva, diabético, CPF 529.982.247-25")
    assert [f["rule"] for f in result["findings"]] == ["patient_name", "health_term", "cpf"]
    assert result["phi_detected"] and result["risk_score"] > english
    assert result["risk_score"] == 90  # 85 + 5 for the second identifier kind


def test_health_context_alone_is_not_phi(engine):
    result = engine("lgpd", "Diabetes e hipertensão: como prevenir.")
    assert (result["phi_detected"], result["risk_score"]) == (False, 20)


@pytest.mark.parametrize(
    ("kinds", "phi", "score"),
    [
        (["initials"], False, 30),
        (["rare_condition"], False, 45),
        (["initials", "health_term"], False, 50),
        (["initials", "rare_condition"], True, 75),
        (["initials", "rare_condition", "locality", "age"], True, 80),
        (["locality", "age", "health_term"], False, 50),
        (["rare_condition", "locality"], True, 65),
        (["business_contact", "health_term"], False, 20),
        (["business_contact"], False, 0),
        (["age_over_89"], True, 30),
        (["medical_record", "health_term"], True, 85),
        (["patient_name", "initials", "health_term"], True, 90),
    ],
)
def test_quasi_identifiers_and_business_contacts(kinds, phi, score):
    assert (phi_detected(kinds), risk_score(kinds)) == (phi, score)
