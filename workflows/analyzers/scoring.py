"""LGPD risk score of a text from the rule ids of its `lgpd` findings. Pure policy, applied by the
host to wasm and reference findings alike; the tables are in docs/analyzers.md."""

from __future__ import annotations

from collections.abc import Iterable

# Direct identifiers: each one makes the text identify a person (HIPAA Safe Harbor classes).
IDENTIFIER_KINDS = frozenset(
    {
        "cpf",
        "cns",
        "rg",
        "phone",
        "email",
        "cep",
        "address",
        "birth_date",
        "patient_name",
        "age_over_89",
        "medical_record",
        "health_plan_card",
        "identifying_photo",
    }
)
HEALTH_KINDS = frozenset({"cid10", "health_term", "rare_condition"})
NATIONAL_ID_KINDS = frozenset({"cpf", "cns", "rg", "medical_record", "health_plan_card"})
PERSON_KINDS = frozenset({"patient_name", "birth_date", "age_over_89", "identifying_photo"})
# Quasi-identifiers: none identifies a person alone; together, with health context, they can
# (initials + a rare condition + a small town). Points per kind present.
QUASI_POINTS = {"initials": 30, "rare_condition": 25, "locality": 20, "age": 10}
# With health context, this many quasi points make the text re-identifiable: phi_detected.
QUASI_PHI_POINTS = 45
QUASI_CAP = 80

HEALTH_ONLY_SCORE = 20
NATIONAL_ID_SCORE = 40
PERSON_SCORE = 30
CONTACT_SCORE = 25
QUASI_ONLY_CAP = 30
IDENTIFIED_CAP = 60
SENSITIVE_SCORE = 85  # an identified person with health context: LGPD art. 5 II
SENSITIVE_CAP = 100
PER_EXTRA_KIND = 5


def quasi_points(rules: Iterable[str]) -> int:
    """Sum of QUASI_POINTS over the quasi-identifier kinds found (each kind once)."""
    return sum(QUASI_POINTS.get(rule, 0) for rule in set(rules))


def phi_detected(rules: Iterable[str]) -> bool:
    """At least one identifier finding, or quasi-identifiers that re-identify with health
    context (QUASI_PHI_POINTS or more). `business_contact` is the author's, never PHI."""
    found = set(rules)
    if found & IDENTIFIER_KINDS:
        return True
    return bool(found & HEALTH_KINDS) and quasi_points(found) >= QUASI_PHI_POINTS


def risk_score(rules: Iterable[str]) -> int:
    """0..100 from the set of rule ids found (repeats of one kind do not add up)."""
    found = set(rules)
    identifiers = found & IDENTIFIER_KINDS
    health = bool(found & HEALTH_KINDS)
    quasi = [rule for rule in found if rule in QUASI_POINTS and rule != "rare_condition"]
    points = quasi_points(found)
    if not identifiers:
        if health:
            return min(QUASI_CAP, HEALTH_ONLY_SCORE + points)
        return min(QUASI_ONLY_CAP, points)
    extra = PER_EXTRA_KIND * (len(identifiers) - 1 + len(quasi))
    if health:
        return min(SENSITIVE_CAP, SENSITIVE_SCORE + extra)
    if identifiers & NATIONAL_ID_KINDS:
        base = NATIONAL_ID_SCORE
    elif identifiers & PERSON_KINDS:
        base = PERSON_SCORE
    else:
        base = CONTACT_SCORE
    return min(IDENTIFIED_CAP, base + extra)
