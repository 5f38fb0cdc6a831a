"""lgpd rules, each with texts that must and must not fire, on the wasm and the reference."""

from __future__ import annotations

import random

import pytest

from healthcare_cms.privacy.identifiers import (
    cns_generate,
    cns_is_valid,
    cpf_generate,
    cpf_is_valid,
)


def _break_last_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


# ---- CPF ----------------------------------------------------------------------------------


def test_a_formatted_cpf_with_valid_check_digits_is_found(found, cpf):
    assert found("lgpd", f"CPF do titular: {cpf}.") == [("cpf", cpf)]


def test_eleven_bare_digits_with_valid_check_digits_are_a_cpf(found, rng):
    bare = cpf_generate(rng, formatted=False)
    assert found("lgpd", f"cpf {bare} conferido") == [("cpf", bare)]


def test_a_cpf_with_a_wrong_check_digit_is_not_reported_at_all(found, cpf):
    invalid = _break_last_digit(cpf)
    assert not cpf_is_valid(invalid)
    assert found("lgpd", f"CPF {invalid}") == []
    assert found("lgpd", f"CPF {invalid.replace('.', '').replace('-', '')}") == []


def test_a_cpf_of_all_equal_digits_is_not_reported(found):
    assert found("lgpd", "CPF 111.111.111-11 e 00000000000") == []


def test_a_cpf_glued_to_more_digits_is_not_reported(found, cpf):
    assert found("lgpd", f"protocolo 9{cpf}") == []
    assert found("lgpd", f"protocolo {cpf}.7") == []


# ---- CNS ----------------------------------------------------------------------------------


def test_a_definitive_cns_is_found_bare_and_grouped(found, cns):
    grouped = f"{cns[:3]} {cns[3:7]} {cns[7:11]} {cns[11:]}"
    assert found("lgpd", f"Cartão SUS {cns}") == [("cns", cns)]
    assert found("lgpd", f"CNS: {grouped}") == [("cns", grouped)]


def test_a_provisional_cns_is_found(found, rng):
    provisional = cns_generate(rng, provisional=True)
    assert found("lgpd", f"CNS provisório {provisional}") == [("cns", provisional)]


def test_the_reference_cns_examples_follow_the_rebuild_rule(found):
    # 100000000031239 passes the plain weighted sum but is not a rebuilt PIS number.
    assert cns_is_valid("100000000030003") and not cns_is_valid("100000000031239")
    assert found("lgpd", "CNS 100000000030003") == [("cns", "100000000030003")]
    assert found("lgpd", "CNS 100000000031239") == []
    assert found("lgpd", "CNS 123456789012345") == []


def test_a_cns_with_a_wrong_check_digit_is_not_reported(found, rng):
    for provisional in (False, True):
        invalid = _break_last_digit(cns_generate(rng, provisional=provisional))
        if not cns_is_valid(invalid):
            assert found("lgpd", f"CNS {invalid}") == []


# ---- phone, e-mail, CEP, RG, birth date -----------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "(11) 98765-4321",
        "+55 11 98765-4321",
        "+55 (21) 3456-7890",
        "11 3456-7890",
        "98765-4321",
        "(11)98765 4321",
        "(11) 3456 7890",
    ],
)
def test_brazilian_phone_numbers_are_found(found, phone):
    assert found("lgpd", f"Contato: {phone}.") == [("phone", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "ramal 3456-7890",  # a landline needs its DDD
        "vigência 2020-2021",
        "protocolo 987654321",  # bare digits are never a phone
        "lote 11987654321",
        "(00) 3456-7890",  # DDD digits are 1-9, and a landline needs a DDD
    ],
)
def test_numbers_that_only_look_like_phones_are_not_reported(found, text):
    assert [rule for rule, _ in found("lgpd", text)] == []


def test_email_addresses_are_found(found):
    text = "Escreva para Maria.Souza+consulta@Exemplo.COM.br ou joao_1@clinica.med.br."
    assert found("lgpd", text) == [
        ("email", "Maria.Souza+consulta@Exemplo.COM.br"),
        ("email", "joao_1@clinica.med.br"),
    ]


@pytest.mark.parametrize("text", ["usuario@localhost", "@exemplo.com", "a@b.c", "x@@y.com"])
def test_things_that_are_not_email_addresses(found, text):
    assert found("lgpd", text) == []


def test_a_formatted_cep_is_found_anywhere_and_bare_digits_only_after_the_label(found):
    assert found("lgpd", "Rua A, 100, 01310-100") == [("cep", "01310-100")]
    assert found("lgpd", "CEP: 01310100") == [("cep", "01310100")]
    assert found("lgpd", "código 01310100") == []


def test_an_rg_is_found_only_next_to_its_label(found):
    assert found("lgpd", "RG: 12.345.678-9") == [("rg", "12.345.678-9")]
    assert found("lgpd", "rg nº 12.345.678-X") == [("rg", "12.345.678-X")]
    assert found("lgpd", "RG MG-12.345.678") == [("rg", "MG-12.345.678")]
    assert found("lgpd", "lote 12.345.678-9") == []
    assert found("lgpd", "RG 123") == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("nascida em 12/03/1985", "12/03/1985"),
        ("Nascido em 1/2/1970", "1/2/1970"),
        ("Data de nascimento: 30.04.2001", "30.04.2001"),
        ("DN: 03-04-1990", "03-04-1990"),
        ("nasc. 12/03/1985", "12/03/1985"),
        ("DOB 05/14/1980", "05/14/1980"),
        ("Date of birth: 14/05/1980", "14/05/1980"),
        ("born 14/05/1980", "14/05/1980"),
    ],
)
def test_a_birth_date_is_found_next_to_its_label(found, text, date):
    assert found("lgpd", text) == [("birth_date", date)]


@pytest.mark.parametrize(
    "text",
    [
        "consulta em 12/03/2024",
        "nascido em 32/13/1985",
        "nascida em 12/03/85",
        "DN 12/03-1985",
    ],
)
def test_other_dates_and_impossible_birth_dates_are_not_reported(found, text):
    assert found("lgpd", text) == []


# ---- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Paciente João da Silva, 54 anos", "João da Silva"),
        ("Patient John Doe has a cold", "John Doe"),
        ("A Sra. Maria das Dores chegou", "Maria das Dores"),
        ("Sr. José Antônio dos Santos e Souza", "José Antônio dos Santos e Souza"),
        ("Mrs. Jane Smith", "Jane Smith"),
        ("Nome: Ana Paula de Souza Lima", "Ana Paula de Souza Lima"),
        ("PACIENTE: ÉRICA ÁVILA", "ÉRICA ÁVILA"),
    ],
)
def test_a_capitalised_name_after_a_title_or_name_field_is_a_patient_name(found, text, name):
    assert [(r, m) for r, m in found("lgpd", text) if r != "age"] == [("patient_name", name)]


def test_a_name_stops_before_another_title(found):
    assert found("lgpd", "Paciente Maria e Sra. Joana") == [
        ("patient_name", "Maria"),
        ("patient_name", "Joana"),
    ]
    assert found("lgpd", "Paciente Maria e Dr. Pedro") == [("patient_name", "Maria")]


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Pedro Alves atende às terças",
        "Dra. Ana Lima, dermatologista",
        "o paciente relatou melhora",
        "Paciente da Silva",  # a connector cannot start a name
        "Paciente A. Silva",  # an initial is not a capitalised word
    ],
)
def test_physicians_and_lowercase_words_are_not_patient_names(found, text):
    assert [rule for rule, _ in found("lgpd", text)] == []


# ---- CRM and RQE are the physician's, not the patient's -----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Pedro Alves, CRM/SP 123456",
        "CRM 123456",
        "CRM-SP 12.345",
        "CRM SP 123456",
        "CRM: 123456-SP",
        "RQE 1234",
        "RQE nº 6789",
        "MÉDICO: CRM/SP 12.345 — RQE nº 6789",
    ],
)
def test_a_physicians_crm_and_rqe_are_not_patient_data(found, text):
    assert found("lgpd", text) == []


def test_digits_that_would_be_a_cpf_are_not_reported_when_they_are_a_crm_number(found, rng):
    bare = cpf_generate(rng, formatted=False)
    assert found("lgpd", f"inscrição {bare}") == [("cpf", bare)]
    assert found("lgpd", f"CRM {bare}") == []


# ---- health context -------------------------------------------------------------------------


def test_cid10_codes_with_a_dot_always_count(found):
    assert found("lgpd", "Diagnóstico E11.9 e F32.1; U07.1") == [
        ("health_term", "Diagnóstico"),
        ("cid10", "E11.9"),
        ("cid10", "F32.1"),
        ("cid10", "U07.1"),
    ]


def test_bare_cid10_codes_count_only_after_cid_or_icd(found):
    assert found("lgpd", "CID E11") == [("cid10", "E11")]
    assert found("lgpd", "CID-10: F32") == [("cid10", "F32")]
    assert found("lgpd", "ICD I10") == [("cid10", "I10")]
    assert found("lgpd", "código E11 do lote") == []


@pytest.mark.parametrize(
    "text",
    [
        "vitamina B12",
        "Vitamin B12 supplement",
        "U08.1",
        "e11.9",
        "E11.95",
        "CID B1",
    ],
)
def test_things_that_only_look_like_cid10_codes_are_not_reported(found, text):
    assert found("lgpd", text) == []


@pytest.mark.parametrize(
    "word",
    [
        "diabetes",
        "diabético",
        "DIABÉTICA",
        "hipertensão",
        "Câncer",
        "cancer",
        "HIV",
        "depressão",
        "depression",
        "asthma",
        "asma",
        "insulina",
        "insulin",
        "hemograma",
        "insuficiência cardíaca",
        "ct scan",
    ],
)
def test_health_terms_in_portuguese_and_english_are_found(found, word):
    assert found("lgpd", f"Relato: {word}.") == [("health_term", word)]


def test_health_terms_match_whole_words_and_any_whitespace_inside(found):
    assert found("lgpd", "prediabetes, cancerígeno, asmático") == []
    assert found("lgpd", "insuficiência\n  cardíaca") == [
        ("health_term", "insuficiência\n  cardíaca"),
    ]


def test_uppercase_accented_letters_are_folded(found):
    assert found("lgpd", "HIPERTENSÃO, DEPRESSÃO, BIÓPSIA") == [
        ("health_term", "HIPERTENSÃO"),
        ("health_term", "DEPRESSÃO"),
        ("health_term", "BIÓPSIA"),
    ]


def test_a_realistic_note_reports_every_identifier_once(found):
    rng = random.Random(5)
    cpf, cns = cpf_generate(rng), cns_generate(rng)
    text = (
        f"Paciente Maria Souza (CPF {cpf}, CNS {cns}), nascida em 12/03/1985, tel. (11) "
        "98765-4321, maria.souza@exemplo.com.br, CEP 01310-100. Diagnóstico: CID E11, em uso de "
        "insulina. Médica responsável: Dra. Ana Lima, CRM/SP 123456."
    )
    assert found("lgpd", text) == [
        ("patient_name", "Maria Souza"),
        ("cpf", cpf),
        ("cns", cns),
        ("birth_date", "12/03/1985"),
        ("phone", "(11) 98765-4321"),
        ("email", "maria.souza@exemplo.com.br"),
        ("cep", "01310-100"),
        ("health_term", "Diagnóstico"),
        ("cid10", "E11"),
        ("health_term", "insulina"),
    ]
