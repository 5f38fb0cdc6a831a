"""Property tests of the scrubber (issue 11): generated identifiers in every written form, and
names from a list in every case, embedded in text, dict reprs, JSON and ints, never survive.

The surrounding text holds no digits, so "no digit left" is the property for numbers: not one
group of an identifier may remain."""

from __future__ import annotations

import datetime
import json
import random
import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from healthcare_cms.privacy.identifiers import cns_generate, cpf_generate
from healthcare_cms.privacy.masking import mask_patient_data
from healthcare_cms.privacy.names import GIVEN_NAMES, fold
from healthcare_cms.privacy.scrubbing import scrub_value

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

SEPARATORS = ["", ".", "-", " ", "/"]

# --- identifiers, as digit strings, and how people write them ---------------------------------

seeds = st.integers(min_value=0, max_value=2**32)
cpfs = seeds.map(lambda seed: cpf_generate(random.Random(seed), formatted=False))
cnss = st.tuples(seeds, st.booleans()).map(
    lambda pair: cns_generate(random.Random(pair[0]), provisional=pair[1])
)
area_codes = st.integers(min_value=11, max_value=99).filter(lambda n: n % 10 != 0).map(str)
mobiles = st.tuples(area_codes, st.integers(0, 10**8 - 1)).map(lambda p: p[0] + "9" + f"{p[1]:08d}")
landlines = st.tuples(area_codes, st.sampled_from("2345"), st.integers(0, 10**7 - 1)).map(
    lambda p: p[0] + p[1] + f"{p[2]:07d}"
)
phones = st.one_of(mobiles, landlines)
ceps = st.integers(0, 10**8 - 1).map(lambda n: f"{n:08d}")
rgs = st.tuples(st.integers(10**6, 10**8 - 1), st.sampled_from("0123456789X")).map(
    lambda p: f"{p[0]:08d}{p[1]}"
)
birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date.today())


def _join(groups: list[str], separator: str) -> str:
    return separator.join(groups)


def _split(digits: str, sizes: tuple[int, ...]) -> list[str]:
    groups, start = [], 0
    for size in sizes:
        groups.append(digits[start : start + size])
        start += size
    return groups


def cpf_forms(digits: str) -> list[str]:
    groups = _split(digits, (3, 3, 3, 2))
    standard = f"{groups[0]}.{groups[1]}.{groups[2]}"
    return [_join(groups, sep) for sep in SEPARATORS] + [
        f"{standard}-{groups[3]}",
        f"{standard}/{groups[3]}",
        f"{''.join(groups[:3])}-{groups[3]}",
    ]


def cns_forms(digits: str) -> list[str]:
    return [_join(_split(digits, (3, 4, 4, 4)), sep) for sep in SEPARATORS]


def phone_forms(digits: str) -> list[str]:
    area, number = digits[:2], digits[2:]
    head, tail = number[:-4], number[-4:]
    local = [f"{head}-{tail}", f"{head} {tail}", f"{head}.{tail}", number]
    if len(head) == 5:
        local.append(f"{head[0]} {head[1:]}-{tail}")
    with_area = [f"({area}) {head}-{tail}", f"{area} {head} {tail}", f"{area}{number}"]
    with_country = [
        f"+55 {area} {head}-{tail}",
        f"+55 ({area}) {head}-{tail}",
        f"+55{area}{number}",
    ]
    return local + with_area + with_country


def cep_forms(digits: str) -> list[str]:
    return [_join([digits[:5], digits[5:]], sep) for sep in SEPARATORS] + [
        f"{digits[:2]}.{digits[2:5]}-{digits[5:]}"
    ]


def rg_forms(digits: str) -> list[str]:
    groups = _split(digits, (2, 3, 3, 1))
    return [_join(groups, sep) for sep in SEPARATORS] + [
        f"{groups[0]}.{groups[1]}.{groups[2]}-{groups[3]}"
    ]


def date_forms(day) -> list[str]:
    d, m, y = f"{day.day:02d}", f"{day.month:02d}", f"{day.year:04d}"
    return [
        f"{y}-{m}-{d}",
        f"{y}/{m}/{d}",
        f"{d}/{m}/{y}",
        f"{d}-{m}-{y}",
        f"{d}.{m}.{y}",
        f"{day.day}/{day.month}/{y}",
        f"{d}{m}{y}",
        f"{y}-{m}-{d}T00:00:00",
    ]


written_identifiers = st.one_of(
    cpfs.flatmap(lambda d: st.sampled_from(cpf_forms(d))),
    cnss.flatmap(lambda d: st.sampled_from(cns_forms(d))),
    phones.flatmap(lambda d: st.sampled_from(phone_forms(d))),
    ceps.flatmap(lambda d: st.sampled_from(cep_forms(d))),
    rgs.flatmap(lambda d: st.sampled_from(rg_forms(d))),
    birth_dates.flatmap(lambda day: st.sampled_from(date_forms(day))),
)

# --- where identifiers and names are found ------------------------------------------------------

# Digit-free text around the value; labels (sensitive or not) and plain prose.
before = st.sampled_from(
    [
        "",
        "CPF ",
        "cpf: ",
        "Falha ao notificar ",
        "could not export record for ",
        "valor=",
        "nasc. ",
        "tel ",
        "RG ",
        "CEP ",
        "cns ",
        "(",
        "ValueError: bad value ",
        "id do titular: ",
    ]
)
after = st.sampled_from(["", " failed", ", erro", ")", " não encontrado", ".", "; retry", "\n"])
neutral_keys = st.sampled_from(["valor", "x", "dados", "value", "detail", "row"])


def _embeddings(value: str):
    """The value in text, as a dict value in a Python repr, in JSON, nested in a list."""
    return st.one_of(
        st.tuples(before, after).map(lambda p: p[0] + value + p[1]),
        neutral_keys.map(lambda key: repr({key: value, "post_id": "x"})),
        neutral_keys.map(lambda key: json.dumps({key: value, "n": [value]})),
        neutral_keys.map(lambda key: json.dumps({key: value}, ensure_ascii=True)),
        st.just(repr([value, "ok"])),
    )


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


@PROPERTY_SETTINGS
@given(written_identifiers.flatmap(lambda value: st.tuples(st.just(value), _embeddings(value))))
def test_no_digit_of_a_written_identifier_survives_in_text_reprs_or_json(case):
    value, embedded = case
    scrubbed = mask_patient_data(embedded)
    assert not _has_digit(scrubbed), (value, embedded, scrubbed)


@PROPERTY_SETTINGS
@given(written_identifiers, neutral_keys)
def test_no_digit_of_a_written_identifier_survives_scrub_value(value, key):
    scrubbed = scrub_value({key: [value, {"inner": value}], value: "as a key"})
    assert not _has_digit(json.dumps(scrubbed, ensure_ascii=False)), (value, scrubbed)


# Identifiers as ints: the bare number is masked by its shape (a CPF from seven digits, i.e.
# with up to four leading zeros); under a patient-data key any number is masked.
numeric_identifiers = st.one_of(cpfs, cnss, phones, phones.map(lambda digits: "55" + digits))


@PROPERTY_SETTINGS
@given(numeric_identifiers, neutral_keys)
def test_identifier_shaped_ints_never_survive(digits, key):
    number = int(digits)
    assume(number >= 10**6)
    for scrubbed in (
        scrub_value(number),
        scrub_value({key: number}),
        scrub_value([number]),
        mask_patient_data(repr({key: number})),
        mask_patient_data(json.dumps({key: number})),
        mask_patient_data(f"lookup {number} failed"),
    ):
        assert not _has_digit(str(scrubbed)), (digits, scrubbed)


@PROPERTY_SETTINGS
@given(
    st.one_of(cpfs, cnss, phones, ceps, rgs.map(lambda d: d.replace("X", "0"))).map(int),
    st.sampled_from(["cpf", "cns", "telefone", "phone", "cep", "rg", "patient_cpf", "celular"]),
)
def test_any_number_under_a_patient_data_key_is_masked(number, key):
    for scrubbed in (
        scrub_value({key: number}),
        mask_patient_data(repr({key: number})),
        mask_patient_data(json.dumps({key: number})),
        mask_patient_data(f"{key}={number}&page=x"),
    ):
        assert str(number) not in str(scrubbed), (key, number, scrubbed)
        assert not _has_digit(str(scrubbed)), (key, number, scrubbed)


# --- e-mails --------------------------------------------------------------------------------------

emails = st.tuples(
    st.from_regex(r"[a-z][a-z0-9._+\-]{0,15}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9\-]{0,10}[a-z0-9]", fullmatch=True),
    st.sampled_from(["com", "com.br", "org", "gov.br", "test"]),
    st.sampled_from(["@", "%40"]),
).map(lambda p: f"{p[0]}{p[3]}{p[1]}.{p[2]}")


@PROPERTY_SETTINGS
@given(emails.flatmap(lambda value: st.tuples(st.just(value), _embeddings(value))))
def test_emails_never_survive(case):
    value, embedded = case
    local, _, domain = re.split(r"(@|%40)", value, maxsplit=1)
    scrubbed = mask_patient_data(embedded)
    assert value not in scrubbed and f"{local}@" not in scrubbed, (embedded, scrubbed)
    assert domain not in scrubbed, (embedded, scrubbed)


# --- names ---------------------------------------------------------------------------------------

SURNAMES = [
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
    "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Vieira",
    "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques",
    "Machado", "Mendes", "Freitas", "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira",
    "Araújo", "Conceição", "D'Ávila", "Brandão",
]  # fmt: skip
# Given names that are not in the mask's list: masked only after a title, label or key.
UNCOMMON_GIVEN = ["Zuleika", "Deoclécio", "Anacleta", "Ubirajara", "Genésio", "Iracema"]
TITLES = [
    "Paciente", "Paciente:", "paciente:", "PACIENTE", "PACIENTE:", "Patient", "patient:",
    "Sr.", "Sra.", "Srta.", "Dr.", "Dra.", "Dona", "Mr.", "Mrs.", "nome:", "Nome:", "NOME:",
    "nome completo:", "Nome do paciente:",
]  # fmt: skip
CASES = [str.title, str.upper, str.lower, lambda s: s]

common_given = st.sampled_from(sorted(GIVEN_NAMES)).map(str.title)
particles = st.sampled_from(["", "da ", "de ", "dos "])


def _full_name(given_names):
    return st.tuples(given_names, particles, st.sampled_from(SURNAMES), st.sampled_from(CASES)).map(
        lambda p: p[3](f"{p[0]} {p[1]}{p[2]}")
    )


def _words(name: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]+", fold(name)) if len(w) >= 3 and w != "dos"]


def _survivors(name: str, scrubbed: str) -> list[str]:
    scrubbed_words = set(re.findall(r"[^\W\d_]+", fold(scrubbed)))
    return [word for word in _words(name) if word in scrubbed_words]


name_suffix = st.sampled_from(["", " failed", " não encontrado", ", erro", ")", "."])
name_prefix = st.sampled_from(["", "erro ao notificar ", "ValueError: ", "(", "for "])


@PROPERTY_SETTINGS
@given(
    _full_name(common_given),
    name_prefix,
    name_suffix,
    st.one_of(st.none(), st.sampled_from(TITLES)),
)
def test_common_names_never_survive_with_or_without_a_title(name, prefix, suffix, title):
    value = f"{title} {name}" if title else name
    for embedded in (
        f"{prefix}{value}{suffix}",
        repr({"detail": value}),
        json.dumps({"detail": value}),
        json.dumps({"detail": value}, ensure_ascii=False),
    ):
        scrubbed = mask_patient_data(embedded)
        assert not _survivors(name, scrubbed), (embedded, scrubbed)


@PROPERTY_SETTINGS
@given(
    _full_name(st.sampled_from(UNCOMMON_GIVEN)), name_prefix, name_suffix, st.sampled_from(TITLES)
)
def test_uncommon_names_never_survive_after_a_title_or_label(name, prefix, suffix, title):
    scrubbed = mask_patient_data(f"{prefix}{title} {name}{suffix}")
    assert not _survivors(name, scrubbed), (title, name, scrubbed)


@PROPERTY_SETTINGS
@given(
    _full_name(st.sampled_from([*UNCOMMON_GIVEN, "Maria", "João"])),
    st.sampled_from(["nome", "name", "paciente", "patient_name", "nomeCompleto", "full_name"]),
)
def test_names_under_a_name_key_never_survive(name, key):
    for scrubbed in (
        mask_patient_data(repr({key: name, "post_id": 1})),
        mask_patient_data(json.dumps({key: name})),
        mask_patient_data(f"{key}={name.replace(' ', '+')}&page=2"),
        json.dumps(scrub_value({key: name})),
        json.dumps(scrub_value({"row": {key: [name]}})),
    ):
        assert not _survivors(name, scrubbed), (key, name, scrubbed)
