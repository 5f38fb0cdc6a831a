"""cfm rules (CFM Res. 2.336/2023, ANVISA RDC 96/2008) on the wasm and the reference."""

from __future__ import annotations

import pytest

SIGNED = "Dra. Ana Lima — MÉDICA: CRM/SP 12.345."  # identification that satisfies art. 4


def rules(found, text: str) -> list[str]:
    return [rule for rule, _ in found("cfm", text)]


def test_the_compliant_identification_from_the_rules_passes(found):
    assert found("cfm", "MÉDICO: CRM/SP 12.345 — Cardiologista: RQE nº 6789") == []


def test_a_piece_without_any_crm_number_gets_one_document_finding_at_0_0(engine):
    text = "Cuidamos da sua pele com carinho."
    result = engine("cfm", text)
    assert [(f["rule"], f["start"], f["end"]) for f in result["findings"]] == [
        ("missing_crm", 0, 0),
    ]


@pytest.mark.parametrize("text", ["CRM: em breve.", "Siga o CRM do seu estado.", "CRM/SP"])
def test_the_word_crm_without_a_number_is_not_identification(found, text):
    assert rules(found, text) == ["missing_crm"]


def test_a_specialty_without_an_rqe_number_is_reported_at_each_mention(found):
    text = f"{SIGNED} Dermatologista e cardiologista. Nossos pediatras atendem."
    assert found("cfm", text) == [
        ("specialty_without_rqe", "Dermatologista"),
        ("specialty_without_rqe", "cardiologista"),
        ("specialty_without_rqe", "pediatras"),
    ]
    assert found("cfm", text + " RQE 1234.") == []


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Resultado garantido em 30 dias.", "Resultado garantido"),
        ("100% de sucesso e sem risco.", "100% de sucesso"),
        ("Garantia de resultados!", "Garantia de resultados"),
        ("Guaranteed results.", "Guaranteed results"),
    ],
)
def test_guaranteed_results_are_reported(found, text, phrase):
    assert (("guaranteed_result", phrase)) in found("cfm", f"{SIGNED} {text}")


def test_both_guarantee_phrases_of_the_example_are_reported(found):
    assert found("cfm", f"{SIGNED} 100% de sucesso e sem risco.") == [
        ("guaranteed_result", "100% de sucesso"),
        ("guaranteed_result", "sem risco"),
    ]


def test_a_guarantee_about_service_is_not_a_guaranteed_result(found):
    assert found("cfm", f"{SIGNED} Garantimos atendimento pontual.") == []


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("O melhor dermatologista do Brasil. RQE 1234.", "O melhor"),
        ("Eleito melhor médico da cidade.", "melhor médico"),
        ("O mais eficaz dos tratamentos.", "O mais eficaz"),
        ("A única clínica com o método.", "A única"),
    ],
)
def test_superlative_titles_are_reported(found, text, phrase):
    assert found("cfm", f"{SIGNED} {text}") == [("superlative_title", phrase)]


def test_miraculous_and_revolutionary_practices_are_reported(found):
    text = f"{SIGNED} Técnica revolucionária, resultados milagrosos, um milagre."
    assert found("cfm", text) == [
        ("miraculous_claim", "revolucionária"),
        ("miraculous_claim", "milagrosos"),
        ("miraculous_claim", "milagre"),
    ]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Primeira consulta grátis!", "Primeira consulta grátis"),
        ("Consulta gratuita às segundas.", "Consulta gratuita"),
        ("Free consultation today.", "Free consultation"),
        ("Sorteio de uma consulta para quem seguir a página.", "Sorteio"),
        ("Concorra a um procedimento!", "Concorra"),
    ],
)
def test_free_consultations_and_raffles_tied_to_care_are_bait(found, text, phrase):
    assert found("cfm", f"{SIGNED} {text}") == [("free_consultation_bait", phrase)]


@pytest.mark.parametrize(
    "text",
    [
        "Consulta: R$ 350,00.",
        "Consulta: R$ 350,00, em até 3x no cartão; 10% de desconto à vista.",
        "Sorteio de livros na feira. Agende sua consulta.",  # raffle and consultation apart
    ],
)
def test_prices_payment_and_discounts_are_allowed(found, text):
    assert found("cfm", f"{SIGNED} {text}") == []


def test_before_and_after_needs_a_mention_of_complications_somewhere_in_the_piece(found):
    text = f"{SIGNED} Veja o antes e depois da paciente."
    assert found("cfm", text) == [("isolated_before_after", "antes e depois")]
    assert found("cfm", text + " Há riscos de complicações e resultados insatisfatórios.") == []
    assert found("cfm", f"{SIGNED} Before and after photos.") == [
        ("isolated_before_after", "Before and after"),
    ]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Remédio 100% seguro.", "100% seguro"),
        ("Sem efeitos colaterais!", "Sem efeitos colaterais"),
        ("Sem contraindicações.", "Sem contraindicações"),
        ("Não faz mal à saúde.", "Não faz mal"),
        ("É natural, portanto seguro.", "natural, portanto seguro"),
        ("No side effects.", "No side effects"),
    ],
)
def test_absolute_safety_claims_about_medicines_are_reported(found, text, phrase):
    assert found("cfm", f"{SIGNED} {text}") == [("absolute_safety_medicine", phrase)]


def test_neutral_side_effect_information_passes(found):
    assert found("cfm", f"{SIGNED} Pode causar náusea; converse com seu médico.") == []


def test_the_examples_to_flag_from_the_rules_are_all_flagged(found):
    text = (
        "Resultado garantido em 30 dias. 100% de sucesso e sem risco. O melhor dermatologista do "
        "Brasil. Técnica revolucionária, resultados milagrosos. Primeira consulta grátis."
    )
    assert sorted(set(rules(found, text))) == [
        "free_consultation_bait",
        "guaranteed_result",
        "miraculous_claim",
        "missing_crm",
        "specialty_without_rqe",
        "superlative_title",
    ]
