"""claims rules: a claim sentence needs a claim word or percentage and a health context; a claim
finding spans its sentence; claim_unreferenced marks a claim sentence with no reference in it or in
the next sentence. Run on the wasm and the reference."""

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
        ("Garantimos a melhora da dor!", "claim_guarantee"),
        ("Guaranteed pain relief.", "claim_guarantee"),
        ("Melhora em 90% dos casos.", "claim_percentage"),
        ("Absorção de 2,5 % maior pelo organismo.", "claim_percentage"),
        ("Fórmula para a pele comprovada cientificamente.", "claim_scientifically_proven"),
        ("Scientifically proven formula for joint pain.", "claim_scientifically_proven"),
        ("Cientificamente comprovado contra a insônia.", "claim_scientifically_proven"),
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


# The health context a claim needs (docs/analyzers.md, "claims").


def test_a_guarantee_about_service_is_not_a_claim(found):
    text = "A clínica funciona de segunda a sexta, das 8h às 18h. Garantimos atendimento pontual."
    assert found("claims", text) == []
    assert found("claims", "Garantimos atendimento pontual.") == []


def test_the_spec_example_cure_with_a_percentage_and_no_reference(found):
    sentence = "Este tratamento cura a hipertensão em 90% dos casos."
    assert found("claims", sentence) == [
        ("claim_cure", sentence),
        ("claim_percentage", sentence),
        ("claim_unreferenced", sentence),
    ]


def test_a_discount_percentage_is_not_a_claim(found):
    assert found("claims", "Desconto de 20% na primeira consulta.") == []


def test_a_referenced_cholesterol_reduction_is_a_claim_without_claim_unreferenced(found):
    sentence = "Reduz o colesterol em 30% (doi:10.1000/xyz123)."
    assert found("claims", sentence) == [
        ("claim_percentage", sentence),
        ("claim_reduce", sentence),
    ]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Garantimos a melhora da dor nas costas.", ["claim_guarantee"]),
        ("Tratamos a acne sem cirurgia.", ["claim_treat"]),
        ("Previne doenças do coração.", ["claim_prevent"]),
        ("Elimina a celulite em duas semanas.", ["claim_eliminate"]),
        ("Reduz a pressão arterial.", ["claim_reduce"]),
        ("Garantimos a perda de peso.", ["claim_guarantee"]),
        ("Este remédio cura a gripe.", ["claim_cure"]),
        ("Reduz a glicemia.", ["claim_reduce"]),
        ("90% dos pacientes relatam melhora.", ["claim_percentage"]),
        ("Reduz 30% do colesterol.", ["claim_percentage", "claim_reduce"]),
        ("Comprovado cientificamente: alivia os sintomas.", ["claim_scientifically_proven"]),
        ("Guaranteed weight loss.", ["claim_guarantee"]),
        ("This medicine cures migraine.", ["claim_cure"]),
        ("Prevents heart disease.", ["claim_prevent"]),
        ("Reduces blood pressure in 80% of patients.", ["claim_percentage", "claim_reduce"]),
        (
            "Clinically proven to treat skin conditions.",
            ["claim_scientifically_proven", "claim_treat"],
        ),
        ("Eliminates 99% of bacteria.", ["claim_eliminate", "claim_percentage"]),
    ],
)
def test_a_claim_that_names_a_health_context_is_reported(found, sentence, expected):
    assert rules(found, sentence) == [*expected, "claim_unreferenced"]


@pytest.mark.parametrize(
    "text",
    [
        "Garantimos atendimento pontual.",
        "Melhora a saúde da pele.",  # health context without a claim word is not a claim
        "Garantimos a melhora!",
        "Garantimos a cura.",  # "cura" needs a health-related object
        "Garantia de estacionamento para clientes.",
        "Reduzimos o tempo de espera na recepção.",
        "Eliminamos a burocracia do agendamento.",
        "Tratamos você com respeito.",
        "Previne atrasos: chegue 10 minutos antes.",
        "Fórmula comprovada cientificamente.",
        "Desconto de 20% na primeira consulta.",
        "Desconto de 20% no tratamento da acne.",  # a price, even about a treatment
        "10% de desconto para pacientes.",
        "Parcelamos em 10x sem juros, 0% ao mês, para o tratamento.",
        "Atendimento 100% online.",
        "Garantimos o tratamento de dados pessoais conforme a LGPD.",
        "Nosso corpo clínico garante um atendimento de coração.",
        "Garantimos cobertura do seu plano de saúde.",
        "Guaranteed on-time appointments.",
        "We reduce waiting times.",
        "Scientifically proven formula.",
        "20% off your first visit.",
        "We accept most health plans, guaranteed.",
    ],
)
def test_a_claim_word_without_a_health_context_is_not_a_claim(found, text):
    assert rules(found, text) == []


def test_the_health_context_must_be_in_the_claim_sentence_itself(found):
    assert rules(found, "Cuidamos da sua pele. Garantimos atendimento pontual.") == []
    assert rules(found, "Garantimos resultados. Fale sobre sua dor.") == []


def test_patients_and_cases_are_health_context_only_for_a_percentage(found):
    assert rules(found, "Garantimos atendimento pontual aos pacientes.") == []
    assert rules(found, "Reduzimos filas para pacientes em todos os casos.") == []
    assert rules(found, "Melhora em 85% dos casos.") == ["claim_percentage", "claim_unreferenced"]
    assert rules(found, "Works for 85% of patients.") == [
        "claim_percentage",
        "claim_unreferenced",
    ]


def test_a_price_word_drops_only_the_percentage(found):
    sentence = "Reduz o colesterol, com 20% de desconto."
    assert found("claims", sentence) == [
        ("claim_reduce", sentence),
        ("claim_unreferenced", sentence),
    ]


def test_health_context_words_match_in_any_case_and_unaccented(found):
    assert rules(found, "GARANTIMOS ALÍVIO DA DOR.") == ["claim_guarantee", "claim_unreferenced"]
    assert rules(found, "Reduz a pressao e a INSONIA.") == ["claim_reduce", "claim_unreferenced"]
