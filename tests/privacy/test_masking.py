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


# --- the forms of issue 11 (defect 5) ---------------------------------------------------------

CPF = "529.982.247-25"
CPF_DIGITS = "52998224725"


def _no_digits(text: str) -> bool:
    return not any(ch.isdigit() for ch in text)


def test_a_cpf_is_masked_with_spaces_dashes_a_slash_dots_or_nothing():
    for written in (
        "529.982.247-25",
        "52998224725",
        "529 982 247 25",
        "529-982-247-25",
        "529.982.247/25",
        "529982247-25",
        "529.982.247 - 25",
    ):
        masked = mask_patient_data(f"CPF do titular {written} recusado")
        assert _no_digits(masked), (written, masked)
        assert "[CPF]" in masked


def test_a_cns_is_masked_with_dashes_dots_spaces_or_nothing():
    for written in (
        "898 0017 1234 5674",
        "898-0017-1234-5674",
        "898.0017.1234.5674",
        "898001712345674",
    ):
        masked = mask_patient_data(f"cartão {written}")
        assert masked == "cartão [CNS]", written


def test_birth_dates_iso_and_brazilian_are_masked_but_timestamps_are_kept():
    assert mask_patient_data("nascida em 1980-02-01") == "nascida em [DATE]"
    assert mask_patient_data("nasc 01/02/1980, 01-02-1980, 01.02.1980") == (
        "nasc [DATE], [DATE], [DATE]"
    )
    assert mask_patient_data("birth 1980-02-01T00:00:00") == "birth [DATE]"
    stamp = "scheduled at 2026-12-01T09:25:49.123456+00:00 (2026-12-01 09:25:49)"
    assert mask_patient_data(stamp) == stamp


def test_phones_with_and_without_area_code_are_masked():
    for written in (
        "(11) 98765-4321",
        "11 98765 4321",
        "+55 11 98765-4321",
        "+5511987654321",
        "98765-4321",
        "9 8765-4321",
        "987654321",
        "3456-7890",
        "3456 7890",
    ):
        masked = mask_patient_data(f"ligar para {written} hoje")
        assert _no_digits(masked), (written, masked)


def test_names_after_a_colon_in_capitals_or_lower_case_are_masked():
    cases = {
        "Paciente: Maria Aparecida dos Santos não encontrada": "Paciente: [NAME] não encontrada",
        "PACIENTE JOÃO DA SILVA": "PACIENTE [NAME]",
        "paciente joão da silva sem consentimento": "paciente [NAME] sem consentimento",
        "patient: jane roe": "patient: [NAME]",
        "nome: zé das couves, idade 3": "nome: [NAME], idade 3",
        "Sr. Fulano Beltrano": "Sr. [NAME]",
        "Dona Zefa Ramos ligou": "Dona [NAME] ligou",
    }
    for text, expected in cases.items():
        assert mask_patient_data(text) == expected


def test_common_given_names_followed_by_a_surname_are_masked_without_a_title():
    assert mask_patient_data("falha ao notificar maria silva") == "falha ao notificar [NAME]"
    assert mask_patient_data("JOÃO PEREIRA timed out") == "[NAME] timed out"
    assert mask_patient_data("erro com Ana Paula Nascimento: x") == "erro com [NAME]: x"


def test_dict_reprs_json_and_key_value_text_mask_the_values_of_patient_keys():
    import json

    record = {"nome": "Zuleika Brandão", "cpf": 52998224725, "idade": 40, "post_id": 7}
    assert mask_patient_data(str(record)) == (
        "{'nome': '[NAME]', 'cpf': '[CPF]', 'idade': 40, 'post_id': 7}"
    )
    assert mask_patient_data(json.dumps(record)) == (
        '{"nome": "[NAME]", "cpf": "[CPF]", "idade": 40, "post_id": 7}'
    )
    nested = "{'paciente': {'first': 'Zu', 'last': 'Br'}, 'post_id': 3}"
    assert mask_patient_data(nested) == "{'paciente': '[REDACTED]', 'post_id': 3}"
    assert "Zuleika" not in mask_patient_data(json.dumps(json.dumps(record)))
    assert mask_patient_data("GET /busca?nome=Zuleika+Brand%C3%A3o&page=2") == (
        "GET /busca?nome=[NAME]&page=2"
    )
    assert mask_patient_data("Patient(name='Zé Ninguém', worker_name='Pub')") == (
        "Patient(name='[NAME]', worker_name='Pub')"
    )
    assert mask_patient_data("{'nascimento': datetime.date(1980, 2, 1)}") == (
        "{'nascimento': '[DATE]'}"
    )
    sql = "DETAIL:  Key (nome, cpf)=(Zé Ninguém, 52998224725) already exists."
    assert mask_patient_data(sql) == "DETAIL:  Key (nome, cpf)=[REDACTED] already exists."


def test_emails_in_urls_are_masked_even_url_encoded():
    assert mask_patient_data("GET /admin/?email=x@y.com HTTP/1.1") == (
        "GET /admin/?email=[EMAIL] HTTP/1.1"
    )
    assert mask_patient_data("/admin/?q=x%40y.com.br") == "/admin/?q=[EMAIL]"


ORDINARY_ENGINE_TEXT = [
    "Connection refused",
    "KeyError: 'x'",
    "KeyError: 'nome'",
    "TypeError: perform() got an unexpected keyword argument 'name'",
    "Traceback (most recent call last):\n"
    '  File "/app/workflows/jobs/executor.py", line 212, in execute_attempt\n'
    "    outcome = worker.perform(job)\n"
    '  File "/app/healthcare_cms/content/workers.py", line 48, in perform\n'
    '    raise ConnectionError("Connection refused")\n'
    "ConnectionError: Connection refused",
    'duplicate key value violates unique constraint "jobs_job_pkey"\n'
    "DETAIL:  Key (id)=(42) already exists.",
    'null value in column "name" of relation "content_post" violates not-null constraint',
    'relation "jobs_job" does not exist\n'
    'LINE 1: SELECT "jobs_job"."id" FROM "jobs_job" WHERE "jobs_job"."state" = $1',
    "psycopg.errors.DataError: timestamp out of range",
    'connection to server at "127.0.0.1", port 5432 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?",
    'could not translate host name "db" to address: Name or service not known',
    "workflows.jobs.policy.outcomes.JobTimeout: healthcare_cms.content.workers.PublishPostWorker "
    "exceeded its timeout of 30 s",
    "Unknown worker 'tests.support.workers.GoneWorker': no Worker subclass is registered",
    "job 1234 attempt 3 at 2026-12-01T09:25:49.123456+00:00 took 30 ms. Retrying in 15 s",
    "max attempts 20 reached; backoff 2**61 s is out of range",
    "UnknownEmailType: unknown email type 'x'; known types: compliance_alert, security_alert",
    "OperationalError: can't change 'autocommit' now",
    "Python 3.11.2, Django 5.2.19, sentry-sdk 2.75.0",
]


def test_ordinary_engine_error_text_survives_unmasked():
    for text in ORDINARY_ENGINE_TEXT:
        assert mask_patient_data(text) == text


def test_masking_takes_linear_time_on_hostile_text():
    import time

    for hostile in ("1." * 100_000, "a@" * 100_000, "'a': " * 50_000, "Maria " * 50_000):
        started = time.monotonic()
        mask_patient_data(hostile)
        assert time.monotonic() - started < 5, hostile[:10]


def test_uuids_and_hashes_are_kept_whole():
    text = (
        "access 12345678-1234-5678-9012-123456789012 and event 9f8e7d6c5b4a39281706f5e4d3c2b1a0, "
        "key 0123456789abcdef0123456789abcdef; cpf 52998224725"
    )
    assert mask_patient_data(text) == text.replace("52998224725", "[CPF]")


def test_masking_text_that_was_masked_already_changes_nothing():
    """The pages mask again what the engine stored masked."""
    import json

    for text in (
        "{'paciente': {'first': 'Zu'}, 'nome': 'Maria Silva', 'post_id': 3}",
        json.dumps({"nome": "Zé", "cpf": 52998224725, "email": "x@y.com"}),
        "GET /admin/?email=x@y.com&name=Maria+Silva HTTP/1.1",
        "Paciente: Maria Silva, CPF: 529.982.247-25, nasc. 01/02/1980",
    ):
        once = mask_patient_data(text)
        assert mask_patient_data(once) == once
