"""Health check: run each analyzer on a built-in synthetic sample with known findings.

The samples are made up; the CPF is computed from fixed digits, not copied from anyone.
"""

from __future__ import annotations

import time

from .api import run_analyzer
from .errors import AnalyzerError, AnalyzerTrap
from .registry import check_name


def _synthetic_cpf(nine: str) -> str:
    d = [int(c) for c in nine]
    d.append(sum(x * (10 - i) for i, x in enumerate(d)) * 10 % 11 % 10)
    d.append(sum(x * (11 - i) for i, x in enumerate(d)) * 10 % 11 % 10)
    s = "".join(map(str, d))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


_CPF = _synthetic_cpf("111222333")

# (text, [(rule, fragment)]): each fragment's first occurrence is the expected span; "" = 0..0.
SAMPLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "lgpd": (
        f"Paciente Maria Souza, CPF {_CPF}, tel. (11) 98765-4321, diabética. "
        "Dra. Ana Lima, CRM/SP 123456.",
        [
            ("patient_name", "Maria Souza"),
            ("cpf", _CPF),
            ("phone", "(11) 98765-4321"),
            ("health_term", "diabética"),
        ],
    ),
    "claims": (
        "Este chá cura a gripe. Estudo em https://exemplo.org/estudo. Reduz 90% das dores.",
        [
            ("claim_cure", "Este chá cura a gripe."),
            ("claim_reduce", "Reduz 90% das dores."),
            ("claim_percentage", "Reduz 90% das dores."),
            ("claim_unreferenced", "Reduz 90% das dores."),
        ],
    ),
    "cfm": (
        "Dr. Fulano, dermatologista. Resultado garantido e sem efeitos colaterais!",
        [
            ("specialty_without_rqe", "dermatologista"),
            ("guaranteed_result", "Resultado garantido"),
            ("absolute_safety_medicine", "sem efeitos colaterais"),
            ("missing_crm", ""),
        ],
    ),
}


def _expected(text: str, fragments: list[tuple[str, str]]) -> set[tuple[str, int, int]]:
    spans = set()
    for rule, fragment in fragments:
        start = text.index(fragment) if fragment else 0
        spans.add((rule, start, start + len(fragment)))
    return spans


def _describe(spans: set[tuple[str, int, int]]) -> str:
    return ", ".join(f"{rule}@{start}-{end}" for rule, start, end in sorted(spans))


def self_test(name: str) -> dict:
    """{"ok", "analyzer", "duration_ms", "detail"}; detail names rules and offsets, never text."""
    check_name(name)
    text, fragments = SAMPLES[name]
    expected = _expected(text, fragments)
    started = time.perf_counter()
    try:
        result = run_analyzer(name, text)
    except AnalyzerTrap as error:
        ok, detail = False, f"AnalyzerTrap ({error.reason})"
    except AnalyzerError as error:
        ok, detail = False, f"{type(error).__name__}: {error}"
    else:
        got = {(f["rule"], f["start"], f["end"]) for f in result["findings"]}
        missing, unexpected = expected - got, got - expected
        ok = not missing and not unexpected
        detail = (
            f"{len(got)} findings as expected"
            if ok
            else (
                f"missing: {_describe(missing) or '-'}; unexpected: {_describe(unexpected) or '-'}"
            )
        )
    return {
        "ok": ok,
        "analyzer": name,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "detail": detail,
    }
