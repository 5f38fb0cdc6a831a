import logging
import random

from healthcare_cms.privacy.identifiers import cns_generate, cpf_generate
from healthcare_cms.privacy.logging import PatientDataMaskingFilter
from healthcare_cms.privacy.masking import mask_patient_data


def test_identifiers_contacts_dates_and_titled_names_are_masked():
    rng = random.Random(7)
    cpf, cns = cpf_generate(rng), cns_generate(rng)
    text = (
        f"Paciente João da Silva, CPF {cpf}, CNS {cns}, tel (11) 98765-4321, "
        f"joao@example.com.br, CEP 01310-100, nasc. 01/02/1980, Patient John Doe"
    )
    masked = mask_patient_data(text)
    for secret in (
        cpf,
        cns,
        "98765-4321",
        "joao@example.com.br",
        "01310-100",
        "01/02/1980",
        "João",
        "Silva",
        "John",
        "Doe",
    ):
        assert secret not in masked
    assert "[CPF]" in masked and "[CNS]" in masked and "[NAME]" in masked


def test_invalid_check_digits_are_masked_too():
    assert "529.982.247-24" not in mask_patient_data("cpf 529.982.247-24")


def test_ordinary_technical_text_is_kept():
    text = 'File "/app/worker.py", line 42, in perform\nValueError: job 123 failed'
    assert mask_patient_data(text) == text


def test_the_logging_filter_masks_arguments_and_tracebacks():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "user %s failed", ("a@b.com",), None
    )
    try:
        raise ValueError("CPF 529.982.247-25")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    PatientDataMaskingFilter().filter(record)
    rendered = logging.Formatter().format(record)
    assert "a@b.com" not in rendered and "529.982.247-25" not in rendered
    assert "[EMAIL]" in rendered and "[CPF]" in rendered
