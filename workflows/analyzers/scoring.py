"""LGPD risk score of a text from the rule ids of its `lgpd` findings. Pure policy, applied by the
host to wasm and reference findings alike; the table is in docs/analyzers.md."""

from __future__ import annotations

from collections.abc import Iterable

IDENTIFIER_KINDS = frozenset(
    {"cpf", "cns", "rg", "phone", "email", "cep", "birth_date", "patient_name"}
)
HEALTH_KINDS = frozenset({"cid10", "health_term"})
NATIONAL_ID_KINDS = frozenset({"cpf", "cns", "rg"})
PERSON_KINDS = frozenset({"patient_name", "birth_date"})

HEALTH_ONLY_SCORE = 20
NATIONAL_ID_SCORE = 40
PERSON_SCORE = 30
CONTACT_SCORE = 25
IDENTIFIED_CAP = 60
SENSITIVE_SCORE = 85  # an identified person with health context: LGPD art. 5 II
SENSITIVE_CAP = 100
PER_EXTRA_KIND = 5


def phi_detected(rules: Iterable[str]) -> bool:
    """At least one identifier finding."""
    return any(rule in IDENTIFIER_KINDS for rule in rules)


def risk_score(rules: Iterable[str]) -> int:
    """0..100 from the set of rule ids found (repeats of one kind do not add up)."""
    found = set(rules)
    identifiers = found & IDENTIFIER_KINDS
    health = bool(found & HEALTH_KINDS)
    extra = PER_EXTRA_KIND * max(0, len(identifiers) - 1)
    if not identifiers:
        return HEALTH_ONLY_SCORE if health else 0
    if health:
        return min(SENSITIVE_CAP, SENSITIVE_SCORE + extra)
    if identifiers & NATIONAL_ID_KINDS:
        base = NATIONAL_ID_SCORE
    elif identifiers & PERSON_KINDS:
        base = PERSON_SCORE
    else:
        base = CONTACT_SCORE
    return min(IDENTIFIED_CAP, base + extra)
