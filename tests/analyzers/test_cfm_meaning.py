"""cfm 2.0 (issue 15): publicity breaches by meaning class, on the wasm and the reference."""

from __future__ import annotations

import pytest

SIGNED = "Dra. Ana Lima — MÉDICA: CRM/SP 12.345."


def rules(found, text: str) -> list[str]:
    return [rule for rule, _ in found("cfm", f"{SIGNED} {text}")]


@pytest.mark.parametrize(
    "text",
    [
        "Garantimos o resultado do seu tratamento.",
        "Prometemos resultado já no primeiro mês.",
        "Emagrecimento garantido com o protocolo.",
        "Você vai sair daqui renovada!",
        "Resultado imediato e definitivo.",
    ],
)
def test_guarantees_worded_otherwise_and_implied_promises(found, text):
    assert "guaranteed_result" in rules(found, text)


@pytest.mark.parametrize(
    "text",
    ["Garantimos atendimento pontual.", "Não garantimos resultados: cada caso é um caso."],
)
def test_service_guarantees_and_disclaimers_pass(found, text):
    assert rules(found, text) == []


@pytest.mark.parametrize(
    "text", ["100% de cura da hérnia.", "Taxa de cura de 98%.", "95% dos pacientes curados."]
)
def test_cure_rates(found, text):
    assert "cure_rate" in rules(found, text)


@pytest.mark.parametrize(
    "text",
    [
        "ANTES x DEPOIS da harmonização!",
        "Veja a transformação da paciente.",
        "#antesedepois da lipo de papada",
        "Antes vs depois do preenchimento.",
    ],
)
def test_before_after_without_the_literal_phrase(found, text):
    assert "isolated_before_after" in rules(found, text)
    assert "isolated_before_after" not in rules(found, text + " Há riscos de complicações.")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Você não vai acreditar no resultado!", "sensationalism"),
        ("O segredo que os médicos não querem contar.", "sensationalism"),
        ("Médica do ano 2024.", "superlative_title"),
        ("Eleito o melhor cirurgião do estado.", "superlative_title"),
        ("Botox a partir de R$ 899.", "procedure_price"),
        ("Rinoplastia por R$ 12.000 em 10x.", "procedure_price"),
        ("Sorteio de uma sessão de botox!", "free_consultation_bait"),
        ("Vamos sortear uma lipo entre os seguidores.", "free_consultation_bait"),
        ("Não tem contraindicação nenhuma.", "absolute_safety_medicine"),
        ("Pode tomar sem medo, é inofensivo.", "absolute_safety_medicine"),
        ("Compre sem receita e resolva a insônia.", "self_medication"),
        ("Não precisa ir ao médico.", "self_medication"),
        ("Aplicamos Ozempic com desconto.", "prescription_drug_ad"),
        ("Mounjaro em estoque, link na bio.", "prescription_drug_ad"),
    ],
)
def test_each_meaning_class_is_reported(found, text, rule):
    assert rule in rules(found, text)


@pytest.mark.parametrize(
    "text",
    [
        "A melhor forma de prevenir a gripe é a vacina.",
        "O melhor horário para tomar sol é antes das 10h.",
        "Manchas na pele? Procure um dermatologista.",
        "Dor no peito? Vá ao cardiologista.",
        "Converse com seu cirurgião plástico sobre os riscos.",
        "Consulta: R$ 350,00 em até 3x.",
        "O Ozempic é um medicamento de venda sob prescrição.",
        "Evite a automedicação: não tome antibiótico sem receita.",
    ],
)
def test_the_false_positive_shapes_pass(found, text):
    assert rules(found, text) == []


def test_a_specialty_claimed_without_a_referral_still_needs_an_rqe(found):
    assert rules(found, "Sou dermatologista.") == ["specialty_without_rqe"]
