"""scrub_value: structured values (Sentry events, logging extra) with patient data masked."""

import logging

from healthcare_cms.privacy.logging import PatientDataMaskingFilter
from healthcare_cms.privacy.scrubbing import scrub_value


def test_values_of_patient_keys_are_masked_whatever_their_shape():
    scrubbed = scrub_value(
        {
            "nome": "Zuleika Brandão",
            "patientName": ["Zu", "Br"],
            "paciente": {"first": "Zu", "age": 40},
            "cpf": 52998224725,
            "telefone": "987654321",
            "endereco": "Rua das Flores 10",
            "data_nascimento": "1980-02-01",
            "cep": 1310100,
            "E-mail": "x@y.com",
            "worker_name": "PublishPostWorker",
            "email_type": "security_alert",
            "post_id": 7,
            "empty_name": "",
        }
    )
    assert scrubbed == {
        "nome": "[NAME]",
        "patientName": "[REDACTED]",
        "paciente": "[REDACTED]",
        "cpf": "[CPF]",
        "telefone": "[PHONE]",
        "endereco": "[ADDRESS]",
        "data_nascimento": "[DATE]",
        "cep": "[CEP]",
        "E-mail": "[EMAIL]",
        "worker_name": "PublishPostWorker",
        "email_type": "security_alert",
        "post_id": 7,
        "empty_name": "",
    }


def test_identifier_shaped_ints_are_masked_anywhere_and_ordinary_numbers_kept():
    assert scrub_value([52998224725, 898001712345674, 11987654321, 5511987654321]) == [
        "[CPF]",
        "[CNS]",
        "[CPF]",
        "[PHONE]",
    ]
    # A CPF with leading zeros, as an int, is shorter: still masked when its check digits fit.
    assert scrub_value(1234567809) != 1234567809
    assert scrub_value({"job_id": 42, "attempt": 3, "elapsed_ms": 1500}) == {
        "job_id": 42,
        "attempt": 3,
        "elapsed_ms": 1500,
    }
    assert scrub_value(52998224725.0) == "[CPF]"
    assert scrub_value(True) is True


def test_dict_keys_strings_tuples_and_bytes_are_masked_too():
    scrubbed = scrub_value(
        {
            "52998224725": {"note": "Paciente: Maria Souza"},
            "ids": (1, "x@y.com"),
            "raw": b"cpf 52998224725",
        }
    )
    assert scrubbed == {
        "[CPF]": {"note": "Paciente: [NAME]"},
        "ids": (1, "[EMAIL]"),
        "raw": "cpf [CPF]",
    }


def test_cycles_and_deep_nesting_end_instead_of_recursing_forever():
    loop: dict = {}
    loop["self"] = loop
    scrubbed = scrub_value(loop)
    depth = 0
    while isinstance(scrubbed, dict):
        scrubbed = scrubbed["self"]
        depth += 1
    assert scrubbed.startswith("[REDACTED")
    assert depth <= 40


def test_the_logging_filter_masks_extra_fields_in_place():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "sending", None, None)
    record.cpf = 52998224725
    record.patient = {"nome": "Zuleika"}
    record.details = {"value": 52998224725, "note": "maria silva"}
    record.job_id = 42
    PatientDataMaskingFilter().filter(record)
    assert record.cpf == "[CPF]"
    assert record.patient == "[REDACTED]"
    assert record.details == {"value": "[CPF]", "note": "[NAME]"}
    assert record.job_id == 42
