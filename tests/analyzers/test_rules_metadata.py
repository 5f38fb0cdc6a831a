"""Rule metadata is data in rules.py: complete, valid, and what the findings carry."""

from __future__ import annotations

import pytest

from workflows.analyzers import ANALYZER_NAMES, run_analyzer
from workflows.analyzers.registry import PLUGINS_DIR
from workflows.analyzers.rules import RULES, SEVERITIES, UNVERIFIED, rule_info, rules_for

REFERENCE_DIR = PLUGINS_DIR.parent / "reference"
DOCS = PLUGINS_DIR.parents[2] / "docs" / "analyzers.md"


def test_every_rule_has_a_valid_severity_a_reference_and_a_description():
    for rule in RULES:
        assert rule.analyzer in ANALYZER_NAMES
        assert rule.severity in SEVERITIES
        assert rule.legal_reference.strip() and rule.description.strip()
        assert (UNVERIFIED in rule.description) == (not rule.verified)


def test_rule_ids_are_unique_per_analyzer():
    keys = [(rule.analyzer, rule.id) for rule in RULES]
    assert len(keys) == len(set(keys))


def test_the_lgpd_rule_ids_are_exactly_the_specified_ones():
    assert set(rules_for("lgpd")) == {
        "cpf",
        "cns",
        "phone",
        "email",
        "cep",
        "rg",
        "birth_date",
        "patient_name",
        "cid10",
        "health_term",
        # issue 15: more identifier classes, quasi-identifiers and the business-contact policy
        "address",
        "age_over_89",
        "medical_record",
        "health_plan_card",
        "identifying_photo",
        "initials",
        "locality",
        "age",
        "rare_condition",
        "business_contact",
    }


@pytest.mark.parametrize("name", ANALYZER_NAMES)
def test_every_rule_is_implemented_in_the_c_plugin_and_in_the_reference(name):
    c_source = (PLUGINS_DIR / f"{name}.c").read_text()
    py_source = (REFERENCE_DIR / f"{name}.py").read_text()
    for rule_id in rules_for(name):
        assert f'"{rule_id}"' in c_source, f"{rule_id} missing from {name}.c"
        assert f'"{rule_id}"' in py_source, f"{rule_id} missing from reference/{name}.py"


def test_the_verified_cfm_articles_carry_no_warning():
    assert rule_info("cfm", "missing_crm").verified
    assert rule_info("cfm", "isolated_before_after").legal_reference.endswith("art. 14")
    assert not rule_info("cfm", "miraculous_claim").verified


def test_findings_carry_the_metadata_from_rules_py():
    result = run_analyzer("cfm", "Resultado garantido!")
    for finding in result["findings"]:
        rule = rule_info("cfm", finding["rule"])
        assert (finding["severity"], finding["legal_reference"]) == (
            rule.severity,
            rule.legal_reference,
        )


def test_an_unknown_rule_from_a_module_fails_closed():
    from workflows.analyzers import AnalyzerError
    from workflows.analyzers.results import build_findings

    with pytest.raises(AnalyzerError, match="unknown rule 'bogus'"):
        build_findings("lgpd", [("bogus", 0, 1)], b"abc")


def test_a_span_that_splits_a_utf8_character_fails_closed():
    from workflows.analyzers import AnalyzerError
    from workflows.analyzers.results import build_findings

    with pytest.raises(AnalyzerError, match="splits a UTF-8 character"):
        build_findings("lgpd", [("cpf", 0, 1)], "ção".encode())


def test_every_rule_is_in_the_documentation_table():
    docs = DOCS.read_text(encoding="utf-8")
    for rule in RULES:
        assert f"`{rule.id}`" in docs, f"{rule.id} missing from {DOCS.name}"
