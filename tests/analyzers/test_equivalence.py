"""The WebAssembly plugins and the Python reference give identical results.

Texts are built from fragments that make the rules fire (valid and invalid identifiers, labels,
titles, names, health words, claim and publicity phrases, accents, punctuation) mixed with random
Unicode, so the comparison covers the matching code and not only the no-finding path.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcare_cms.privacy.identifiers import cns_generate, cpf_generate
from workflows.analyzers import ANALYZER_NAMES, run_analyzer, run_reference
from workflows.analyzers.reference.lexicon import WORDS
from workflows.analyzers.rules import rules_for

LEXICON_WORDS = sorted(
    {word for lists in WORDS.values() for words in lists.values() for word in words}
)
LABELS = [
    "CPF",
    "CNS",
    "RG",
    "RG:",
    "rg nº",
    "CEP",
    "CEP:",
    "CID",
    "CID-10:",
    "ICD",
    "nasc.",
    "nascida em",
    "DN:",
    "DOB",
    "Data de nascimento:",
    "Paciente",
    "paciente:",
    "Sr.",
    "Sra.",
    "Patient",
    "Mr.",
    "Mrs.",
    "Ms.",
    "Nome:",
    "Dr.",
    "Dra.",
    "CRM",
    "CRM/SP",
    "CRM-RJ:",
    "RQE",
    "RQE nº",
    "MÉDICO:",
    "Consulta: R$ 350,00",
    "antes e depois",
    "complicações",
    # issue 15: the new identifier classes, quasi-identifiers and business context
    "Rua das Flores, 120, apto 45",
    "Av. Paulista nº 1500, sala 3",
    "idade: 92",
    "94 anos",
    "de 34 anos",
    "há 90 anos",
    "90 anos de história",
    "M.S.",
    "J. P. S.",
    "Itaobim (MG)",
    "município de Carmo do Rio Claro",
    "prontuário nº HC-2023/00456",
    "carteirinha da Unimed 0 123 456789012 3",
    "foto do rosto da paciente",
    "doença de Fabry",
    "Dona",
    "nasceu em 3 de maio de 1980",
    "1º de março de 1950",
    "(RG) nº",
    "RG 12.345.678-9",
    "9 9134-2278",
    "11 9 7654-3321",
    "arroba",
    " arroba gmail ponto com",
    "[at]",
    "(arroba)",
    " ponto ",
    "[.]",
    "Agende:",
    "Clínica Bem Viver",
    "WhatsApp da clínica",
    "Paciente Oncológico: Cuidados Essenciais Na Quimioterapia",
    "Maria Aparecida Souza",
    "José Carlos Pereira",
    "procure um dermatologista",
    "a melhor forma de prevenir",
    "98% de cura",
    "R$ 3.500",
    "Ozempic",
    "não tome sem receita",
]
# Claim sentences and their look-alikes: a claim word or percentage with or without a health
# context, patients/cases, price words, and the phrases that hide a health word.
CLAIM_PHRASES = [
    "Este tratamento cura a hipertensão em 90% dos casos",
    "Garantimos atendimento pontual",
    "Desconto de 20% na primeira consulta",
    "Reduz o colesterol em 30% (doi:10.1000/xyz123)",
    "90% dos pacientes",
    "of patients",
    "dos casos",
    "cura a",
    "reduz a pressão",
    "dor de cabeça",
    "pressão arterial",
    "sistema imunológico",
    "20% off",
    "sem juros",
    "tratamento de dados",
    "corpo clínico",
    "de coração",
    "plano de saúde",
    "health insurance",
    "clinically proven for the skin",
    "comprovado cientificamente",
    "garantimos a melhora da dor",
    "Eliminates 99% of bacteria",
]
NAMES = [
    "João",
    "Maria",
    "Ávila",
    "ÉRICA",
    "Ana Paula",
    "da",
    "de",
    "dos",
    "e",
    "Silva",
    "Ab",
    "Ó",
    "Lima",
    "Souza",
    "JOSÉ",
    "Francisca",
    "Antônio",
    "Conceição",
    "Pereira",
    "Oliveira",
]
PUNCTUATION = [
    ".",
    "!",
    "?",
    "\n",
    ",",
    ":",
    ";",
    "-",
    "/",
    "(",
    ")",
    "+",
    "@",
    "%",
    "\u00a0",
    "º",
    "nº",
    "—",
    "“",
    "”",
    "...",
    "'",
    "_",
    "\u00d7",
    "😀",
    "\t",
    "R$",
]
SEPARATORS = [" ", "", " ", "  ", "\n", ", ", ". ", "\u00a0", "\t", "-", "/"]
CASES = [str, str, str.upper, str.lower, str.title, str.capitalize]


def _digits(rng: random.Random, k: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(k))


def _mutate(rng: random.Random, number: str) -> str:
    """Sometimes break a digit, so invalid check digits appear too."""
    if rng.random() < 0.4:
        i = rng.randrange(len(number))
        if number[i].isdigit():
            number = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
    return number


def identifier(rng: random.Random) -> str:
    kind = rng.randrange(9)
    if kind == 0:
        return _mutate(rng, cpf_generate(rng, formatted=rng.random() < 0.6))
    if kind == 1:
        cns = cns_generate(rng, provisional=rng.random() < 0.5)
        if rng.random() < 0.5:
            cns = f"{cns[:3]} {cns[3:7]} {cns[7:11]} {cns[11:]}"
        return _mutate(rng, cns)
    if kind == 2:
        local = rng.choice(
            ["9" + _digits(rng, 4), rng.choice("2345") + _digits(rng, 3), _digits(rng, 4)]
        )
        return "".join(
            [
                rng.choice(["", "+55 ", "+55", "+5"]),
                rng.choice(["", f"({_digits(rng, 2)}) ", f"{_digits(rng, 2)} ", "(1"]),
                local,
                rng.choice(["-", " ", "", "."]),
                _digits(rng, rng.choice([3, 4, 4, 5])),
            ]
        )
    if kind == 3:
        local = rng.choice(["maria", "Joao.Silva", "a+b", ".x", "ana_1", "joão", "z"])
        domain = rng.choice(
            [
                "exemplo.com",
                "Clinica.COM.br",
                "x.c",
                "localhost",
                "a..b.com",
                "med.br-",
                "-x.org",
                "exemplo.com2",
            ]
        )
        return f"{local}@{domain}"
    if kind == 4:
        return f"{_digits(rng, 5)}{rng.choice(['-', ''])}{_digits(rng, 3)}"
    if kind == 5:
        sep = rng.choice("/-.")
        return (
            f"{rng.choice(['', '', 'nasc. ', 'DN: ', 'DOB '])}"
            f"{rng.randrange(0, 35)}{sep}{rng.randrange(0, 15):02d}{rng.choice([sep, '/'])}"
            f"{rng.randrange(1850, 2150)}"
        )
    if kind == 6:
        code = rng.choice("ABEFIJKTUVZ") + _digits(rng, 2)
        return code + rng.choice(["", "." + _digits(rng, 1), "." + _digits(rng, 2), "x"])
    if kind == 7:
        return rng.choice(
            [
                "10.1000/xyz",
                "doi:10.1056/NEJM",
                "PMID 1234",
                "https://x.org/a",
                "90%",
                "2,5 %",
                "100% seguro",
                "12.345.678-9",
                "MG-12.345.678",
            ]
        )
    return _digits(rng, rng.choice([1, 2, 3, 6, 8, 11, 15]))


def fragment(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.30:
        return rng.choice(CASES)(rng.choice(LEXICON_WORDS))
    if pick < 0.44:
        return rng.choice(LABELS)
    if pick < 0.50:
        return rng.choice(CASES)(rng.choice(CLAIM_PHRASES))
    if pick < 0.70:
        return identifier(rng)
    if pick < 0.82:
        return rng.choice(NAMES)
    if pick < 0.94:
        return rng.choice(PUNCTUATION)
    return "".join(
        chr(
            rng.choice(
                [
                    rng.randrange(32, 0x250),
                    rng.randrange(0x250, 0x3000),
                    rng.randrange(0x1F300, 0x1F600),
                ]
            )
        )
        for _ in range(rng.randrange(1, 5))
    )


def document(rng: random.Random, size: int = 25) -> str:
    text = "".join(fragment(rng) + rng.choice(SEPARATORS) for _ in range(rng.randrange(1, size)))
    return text if text.strip() else "x" + text


def _comparable(result: dict) -> dict:
    return {key: result.get(key) for key in ("findings", "phi_detected", "risk_score")}


def _assert_same(name: str, text: str) -> dict:
    wasm = run_analyzer(name, text)
    assert _comparable(wasm) == _comparable(run_reference(name, text))
    return wasm


# Hypothesis draws the fragments itself (so it can shrink a failure to a minimal text) from the
# same vocabulary, plus raw Unicode text.
_fragment = st.one_of(
    st.sampled_from(LEXICON_WORDS).flatmap(
        lambda w: st.sampled_from(CASES).map(lambda case: case(w))
    ),
    st.sampled_from(LABELS),
    st.sampled_from(CLAIM_PHRASES).flatmap(
        lambda w: st.sampled_from(CASES).map(lambda case: case(w))
    ),
    st.sampled_from(NAMES),
    st.sampled_from(PUNCTUATION),
    st.randoms(use_true_random=False).map(identifier),
    st.text(max_size=6),
)
_documents = (
    st.lists(
        st.tuples(_fragment, st.sampled_from(SEPARATORS)),
        min_size=1,
        max_size=20,
    )
    .map(lambda parts: "".join(a + b for a, b in parts))
    .filter(lambda text: text.strip())
)


@pytest.mark.parametrize("name", ANALYZER_NAMES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_documents)
def test_wasm_and_reference_agree_on_generated_texts(name, text):
    _assert_same(name, text)


@pytest.mark.parametrize("name", ANALYZER_NAMES)
def test_wasm_and_reference_agree_on_a_seeded_corpus_that_fires_every_rule(name):
    rng = random.Random(f"corpus-{name}")
    fired: set[str] = set()
    for _ in range(400):
        result = _assert_same(name, document(rng))
        fired.update(f["rule"] for f in result["findings"])
    # The corpus is only meaningful if it exercises the rules, not only the no-finding path.
    assert set(rules_for(name)) <= fired


def test_wasm_and_reference_agree_on_a_long_document():
    rng = random.Random(99)
    text = "".join(document(rng) for _ in range(300))
    for name in ANALYZER_NAMES:
        _assert_same(name, text)
