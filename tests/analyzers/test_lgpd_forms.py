"""lgpd 2.0 (issue 15): patient data in the forms physicians write, on the wasm and the reference.

Each test names the form; the corpus (test_quality.py) measures the same rules on whole posts.
"""

from __future__ import annotations

import pytest

from healthcare_cms.privacy.identifiers import cpf_generate


def rules(found, text: str) -> list[str]:
    return [rule for rule, _ in found("lgpd", text)]


def test_a_cpf_with_spaces_between_the_groups_is_found(found, rng):
    bare = cpf_generate(rng, formatted=False)
    spaced = f"{bare[:3]} {bare[3:6]} {bare[6:9]} {bare[9:]}"
    assert found("lgpd", f"CPF {spaced}.") == [("cpf", spaced)]
    wrong = spaced[:-1] + str((int(spaced[-1]) + 1) % 10)
    assert found("lgpd", f"CPF {wrong}.") == []


@pytest.mark.parametrize(
    "email",
    [
        "maria.souza arroba gmail ponto com",
        "carla.dias[at]hotmail.com",
        "joao.pereira (arroba) yahoo.com.br",
        "tiago_m@outlook ponto com",
        "m.lopes[arroba]gmail[.]com",
    ],
)
def test_obfuscated_emails_are_found(found, email):
    assert found("lgpd", f"Contato da paciente: {email}") == [("email", email)]


@pytest.mark.parametrize(
    "text", ["Ela usa arroba no Instagram.", "Fale comigo [at] qualquer hora."]
)
def test_the_words_for_at_alone_are_not_an_email(found, text):
    assert rules(found, text) == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("nascida em 3 de maio de 1980", "3 de maio de 1980"),
        ("Data de nascimento: 1º de março de 1949", "1º de março de 1949"),
        ("nasceu no dia 25 de dezembro de 2019", "25 de dezembro de 2019"),
        ("Ele nasceu em 12/10/1956", "12/10/1956"),
        ("Dt. nasc. 09-11-1983", "09-11-1983"),
    ],
)
def test_birth_dates_in_words_and_under_more_labels(found, text, date):
    assert ("birth_date", date) in found("lgpd", text)


def test_a_publication_date_in_words_is_not_a_birth_date(found):
    assert rules(found, "Publicado em 3 de maio de 2024.") == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("Senhora de 94 anos com pneumonia.", "94 anos"),
        ("Idade: 97. Fratura de fêmur.", "97"),
        ("completou 102 anos de idade", "102 anos de idade"),
    ],
)
def test_ages_over_89_are_identifiers(found, engine, text, age):
    assert ("age_over_89", age) in found("lgpd", text)
    assert engine("lgpd", text)["phi_detected"]


@pytest.mark.parametrize(
    "text",
    [
        "Há 90 anos a insulina foi descoberta.",
        "O hospital completa 90 anos de história.",
        "Pessoas acima de 90 anos precisam de atenção.",
        "A mamografia é indicada a partir dos 40 anos.",
    ],
)
def test_spans_of_time_and_age_groups_are_not_ages_over_89(found, text):
    assert "age_over_89" not in rules(found, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Maria Aparecida Souza, diabética, começou insulina.", "Maria Aparecida Souza"),
        ("Hoje recebi José Carlos Pereira na consulta.", "José Carlos Pereira"),
        ("O caso de Francisca Lima Barbosa piorou.", "Francisca Lima Barbosa"),
        ("Dona Conceição voltou hoje.", "Conceição"),
        ("Seu Joaquim Batista segue na hemodiálise.", "Joaquim Batista"),
    ],
)
def test_names_without_a_title_or_after_dona_and_seu(found, text, name):
    assert ("patient_name", name) in found("lgpd", text)


@pytest.mark.parametrize(
    "text",
    [
        "Paciente Oncológico: Cuidados Essenciais Durante a Quimioterapia",
        "PACIENTE DIABÉTICO: COMO CONTROLAR A GLICEMIA",
        "Dona Diabetes, Seu Colesterol e Outros Vilões da Saúde",
        "O ministro da Saúde Alexandre Padilha anunciou a campanha.",
        "Texto: Juliana Martins, jornalista.",
        "Ana Paula Souza\nCRM/SP 123456",
        "Moro em São José dos Campos.",
        "Seu médico vai explicar.",
    ],
)
def test_headlines_public_figures_authors_and_places_are_not_patient_names(found, text):
    assert "patient_name" not in rules(found, text)


def test_a_title_still_names_a_patient_in_a_name_field_line(found):
    assert found("lgpd", "Paciente: Maria Souza") == [("patient_name", "Maria Souza")]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("mora na Rua das Acácias, 215, apto 32.", "Rua das Acácias, 215, apto 32"),
        ("Av. Brasil, 1450, bloco B, apto 704", "Av. Brasil, 1450, bloco B, apto 704"),
        ("Travessa São Jorge, 88", "Travessa São Jorge, 88"),
        ("Rua Doutor Arnaldo Pinto, 1020, casa 2", "Rua Doutor Arnaldo Pinto, 1020, casa 2"),
        ("R. Tiradentes, 440", "R. Tiradentes, 440"),
        ("Rua Marechal Deodoro nº 12, sala 3", "Rua Marechal Deodoro nº 12, sala 3"),
    ],
)
def test_street_addresses_with_a_number_are_found_with_or_without_a_cep(found, text, address):
    assert ("address", address) in found("lgpd", f"Paciente com asma, {text}")


def test_an_address_beside_a_cep_gives_both(found):
    assert found("lgpd", "Rua das Flores, 120, CEP 01310-100") == [
        ("address", "Rua das Flores, 120"),
        ("cep", "01310-100"),
    ]


def test_a_street_without_a_number_is_not_an_address(found):
    assert rules(found, "A Rua da Saúde ganhou esse nome por um hospital.") == []


@pytest.mark.parametrize(
    ("text", "rule", "value"),
    [
        ("Prontuário nº 458213: diabetes.", "medical_record", "458213"),
        ("Revisar o prontuário HC-2023/00456.", "medical_record", "HC-2023/00456"),
        ("prontuário eletrônico nº 2024.55671", "medical_record", "2024.55671"),
        ("Carteirinha Unimed 0 123 456789012 3.", "health_plan_card", "0 123 456789012 3"),
        ("carteira do plano 09876543210", "health_plan_card", "09876543210"),
    ],
)
def test_record_and_plan_card_numbers_by_label(found, text, rule, value):
    assert (rule, value) in found("lgpd", text)


def test_a_record_label_without_a_number_is_nothing(found):
    assert rules(found, "O prontuário eletrônico protege os seus dados.") == []


@pytest.mark.parametrize(
    "text",
    [
        "Postei a foto do rosto da paciente.",
        "Fotos do paciente sem tarja.",
        "imagem do rosto do paciente com paralisia facial",
    ],
)
def test_photos_described_as_identifying_the_patient(found, engine, text):
    assert "identifying_photo" in rules(found, text)
    assert engine("lgpd", text)["phi_detected"]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("WhatsApp dela, 9 9134-2278.", "9 9134-2278"),
        ("Telefone do acompanhante: 11 9 7654-3321.", "11 9 7654-3321"),
        ("Contato da mãe: (21) 9 8877-6655", "(21) 9 8877-6655"),
    ],
)
def test_phones_with_the_mobile_nine_apart(found, text, phone):
    assert found("lgpd", text) == [("phone", phone)]


def test_an_rg_after_rg_in_parentheses_with_a_state_prefix(found):
    assert found("lgpd", "Identidade (RG) nº MG-12.345.678 da paciente") == [
        ("rg", "MG-12.345.678"),
    ]


def test_initials_a_rare_condition_and_a_small_town_identify_a_patient(engine):
    text = "M.S., 34 anos, com doença de Fabry, de Itaobim (MG), começou a reposição enzimática."
    result = engine("lgpd", text)
    assert [(f["rule"], text[f["start"] : f["end"]]) for f in result["findings"]] == [
        ("initials", "M.S."),
        ("age", "34 anos"),
        ("rare_condition", "doença de Fabry"),
        ("locality", "Itaobim (MG)"),
    ]
    assert result["phi_detected"] and result["risk_score"] == 80
    assert engine("lgpd", "A doença de Fabry é rara.")["risk_score"] == 45


def test_abbreviations_are_not_initials(found):
    assert rules(found, "Laboratório Exemplo S.A. e P.S. do hospital") == []


def test_a_clinic_signature_is_business_contact_not_patient_data(engine):
    text = (
        "Diabetes tem controle.\n"
        "Dra. Ana Lima — CRM/SP 123456 | (11) 3456-7890 | contato@clinicavida.com.br\n"
        "Clínica Vida — Rua das Laranjeiras, 120, sala 301 — CEP 22240-003"
    )
    result = engine("lgpd", text)
    assert {f["rule"] for f in result["findings"]} == {"health_term", "business_contact"}
    assert (result["phi_detected"], result["risk_score"]) == (False, 20)


def test_a_patient_marker_on_the_line_makes_a_contact_the_patients(engine):
    text = "Dra. Ana Lima, CRM/SP 123456.\nTelefone da paciente: (11) 98765-4321, diabética."
    result = engine("lgpd", text)
    assert "phone" in {f["rule"] for f in result["findings"]}
    assert result["phi_detected"] and result["risk_score"] >= 85


def test_a_business_word_after_the_contact_on_its_line_counts_too(found):
    assert found("lgpd", "(11) 3456-7890 (WhatsApp da clínica)") == [
        ("business_contact", "(11) 3456-7890"),
    ]
