"""claims rules: a claim finding spans its sentence; claim_unreferenced marks a claim sentence with
no reference in it or in the next sentence. Run on the wasm and the reference."""

from __future__ import annotations

import pytest


def rules(found, text: str) -> list[str]:
    return [rule for rule, _ in found("claims", text)]


@pytest.mark.parametrize(
    ("sentence", "rule"),
    [
        ("Este chá cura a gripe.", "claim_cure"),
        ("This tea cures the flu.", "claim_cure"),
        ("Trata a acne em sete dias.", "claim_treat"),
        ("It treats acne in a week.", "claim_treat"),
        ("Elimina as toxinas do corpo.", "claim_eliminate"),
        ("Eliminates toxins overnight.", "claim_eliminate"),
        ("Previne a gripe no inverno.", "claim_prevent"),
        ("Prevents colds.", "claim_prevent"),
        ("Reduz o colesterol ruim.", "claim_reduce"),
        ("Reduces bad cholesterol.", "claim_reduce"),
        ("Garantimos a melhora!", "claim_guarantee"),
        ("Guaranteed relief.", "claim_guarantee"),
        ("Melhora em 90% dos casos.", "claim_percentage"),
        ("Absorção de 2,5 % maior.", "claim_percentage"),
        ("Fórmula comprovada cientificamente.", "claim_scientifically_proven"),
        ("Scientifically proven formula.", "claim_scientifically_proven"),
        ("Cientificamente comprovado.", "claim_scientifically_proven"),
    ],
)
def test_each_claim_kind_spans_its_sentence_and_needs_a_reference(found, sentence, rule):
    text = f"Conheça o produto. {sentence} Fale conosco"
    assert found("claims", text) == [(rule, sentence), ("claim_unreferenced", sentence)]


def test_a_sentence_with_several_claims_reports_each_kind_once(found):
    sentence = "Cura e previne a gripe, cura mesmo, em 99% dos casos!"
    # Findings with the same span are sorted by rule id.
    assert found("claims", sentence) == [
        ("claim_cure", sentence),
        ("claim_percentage", sentence),
        ("claim_prevent", sentence),
        ("claim_unreferenced", sentence),
    ]


@pytest.mark.parametrize(
    "reference",
    [
        "(doi:10.1000/xyz123)",
        "10.1056/NEJMoa2034577",
        "https://doi.org/10.1000/xyz",
        "PMID 12345678",
        "http://exemplo.org/estudo",
    ],
)
def test_a_reference_in_the_same_sentence_backs_the_claim(found, reference):
    text = f"Reduz o colesterol {reference}."
    assert rules(found, text) == ["claim_reduce"]


def test_a_reference_in_the_next_sentence_backs_the_claim_but_not_two_sentences_later(found):
    assert rules(found, "Reduz o colesterol. Fonte: https://exemplo.org/estudo") == [
        "claim_reduce",
    ]
    assert rules(found, "Reduz o colesterol. Beba água. Fonte: PMID 123456") == [
        "claim_reduce",
        "claim_unreferenced",
    ]


def test_sentences_end_at_punctuation_before_a_space_or_at_a_newline(found):
    text = "Cura a gripe\nDose de 2.5 mg. Reduz dores"
    assert found("claims", text) == [
        ("claim_cure", "Cura a gripe"),
        ("claim_unreferenced", "Cura a gripe"),
        ("claim_reduce", "Reduz dores"),
        ("claim_unreferenced", "Reduz dores"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "A consulta dura 30 minutos.",
        "Trata-se de um texto informativo.",
        "Procura-se enfermeira; a consulta é segura.",
        "Tratamento com acompanhamento médico.",
        "Dose de 10.5 mg ao dia.",
        "O estudo 10.100/x é curto.",
    ],
)
def test_neutral_sentences_are_not_claims(found, text):
    assert rules(found, text) == []
