"""The public API: names, input errors, result shape, character offsets, no text in results,
analyzer_info and self_test."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workflows import analyzers
from workflows.analyzers import (
    ANALYZER_NAMES,
    MAX_INPUT_BYTES,
    AnalyzerError,
    AnalyzerInputError,
    AnalyzerTrap,
    analyzer_info,
    run_analyzer,
    self_test,
)
from workflows.analyzers.registry import PLUGINS_DIR

FINDING_KEYS = {"rule", "start", "end", "severity", "legal_reference"}


def test_the_analyzer_names_are_fixed():
    assert ANALYZER_NAMES == ("lgpd", "claims", "cfm")


def test_the_error_classes_form_one_hierarchy():
    assert issubclass(AnalyzerInputError, AnalyzerError)
    assert issubclass(AnalyzerTrap, AnalyzerError)
    assert AnalyzerTrap("fuel", "stopped").reason == "fuel"
    with pytest.raises(ValueError, match="unknown trap reason"):
        AnalyzerTrap("boredom", "?")


SECRET = "Paciente Sigilosa Souza"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "empty"),
        ("   \n\t\u00a0 ", "whitespace"),
        (None, "must be a str"),
        (SECRET.encode(), "must be a str, got bytes"),
        (42, "must be a str, got int"),
        (SECRET + "x" * MAX_INPUT_BYTES, "over the"),
        (SECRET + "é" * (MAX_INPUT_BYTES // 2), "bytes of UTF-8, over the"),
        (SECRET + "\ud800", "surrogate"),
    ],
)
@pytest.mark.parametrize("name", ANALYZER_NAMES)
def test_content_that_cannot_be_analysed_is_an_input_error_that_never_quotes_it(
    name, content, problem
):
    with pytest.raises(AnalyzerInputError, match=problem) as caught:
        run_analyzer(name, content)
    assert "Sigilosa" not in str(caught.value)


def test_the_largest_allowed_input_is_accepted():
    run_analyzer("claims", "a" * MAX_INPUT_BYTES)


def test_an_unknown_analyzer_is_an_error_naming_the_valid_ones():
    with pytest.raises(AnalyzerError, match="expected one of lgpd, claims, cfm"):
        run_analyzer("hipaa", "texto")


@pytest.mark.parametrize("name", ANALYZER_NAMES)
def test_a_result_has_the_documented_keys(name):
    result = run_analyzer(
        name, "Paciente Maria Souza, diabética. Cura 90% das dores! Resultado garantido."
    )
    assert result["analyzer"] == name
    assert result["version"] == analyzer_info(name)["version"]
    assert result["sha256"] == analyzer_info(name)["sha256"]
    assert result["engine"] == "wasm"
    assert result["findings"]
    for finding in result["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["severity"] in ("low", "medium", "high", "critical")
    assert ("phi_detected" in result, "risk_score" in result) == ((name == "lgpd"),) * 2


def test_offsets_are_str_indices_even_after_accents_and_emoji(cpf):
    text = f"😀 Ação! Paciente Ênio Ávila — CPF {cpf}; câncer."
    result = run_analyzer("lgpd", text)
    assert [(f["rule"], text[f["start"] : f["end"]]) for f in result["findings"]] == [
        ("patient_name", "Ênio Ávila"),
        ("cpf", cpf),
        ("health_term", "câncer"),
    ]


def test_findings_never_carry_the_matched_text(cpf):
    text = f"Paciente Sigilosa Souza, CPF {cpf}, sigilosa@exemplo.com.br"
    serialized = json.dumps(run_analyzer("lgpd", text), ensure_ascii=False)
    for secret in ("Sigilosa", cpf, cpf.replace(".", ""), "exemplo"):
        assert secret not in serialized


def test_findings_are_sorted_by_position():
    text = "Cura a gripe. Previne a gripe. Reduz 90% das dores."
    findings = run_analyzer("claims", text)["findings"]
    keys = [(f["start"], f["end"], f["rule"]) for f in findings]
    assert keys == sorted(keys)


@pytest.mark.parametrize("name", ANALYZER_NAMES)
def test_analyzer_info_comes_from_the_manifest_and_matches_the_file(name):
    info = analyzer_info(name)
    assert set(info) == {"name", "version", "abi_version", "sha256"}
    assert info["name"] == name and info["abi_version"] == 1
    wasm = (PLUGINS_DIR / f"{name}.wasm").read_bytes()
    assert info["sha256"] == hashlib.sha256(wasm).hexdigest()


@pytest.mark.parametrize("name", ANALYZER_NAMES)
def test_self_test_passes_for_every_analyzer(name):
    report = self_test(name)
    assert report["ok"], report["detail"]
    assert report["analyzer"] == name
    assert set(report) == {"ok", "analyzer", "duration_ms", "detail"}
    assert report["duration_ms"] >= 0


def test_self_test_reports_a_wrong_result_by_rule_and_offset_only(monkeypatch):
    from workflows.analyzers import selftest

    def wrong(name, text):
        return {"findings": [{"rule": "cpf", "start": 0, "end": 3}]}

    monkeypatch.setattr(selftest, "run_analyzer", wrong)
    report = self_test("lgpd")
    assert not report["ok"]
    assert "missing: cpf@" in report["detail"] and "unexpected: cpf@0-3" in report["detail"]
    sample = selftest.SAMPLES["lgpd"][0]
    for word in sample.split():
        if len(word) > 3:
            assert word.strip(",.") not in report["detail"]


def test_self_test_reports_a_trap_by_reason(monkeypatch):
    from workflows.analyzers import selftest

    def trapped(name, text):
        raise AnalyzerTrap("deadline", "lgpd: the sandbox stopped the module (deadline)")

    monkeypatch.setattr(selftest, "run_analyzer", trapped)
    assert self_test("lgpd")["detail"] == "AnalyzerTrap (deadline)"


def test_the_package_imports_without_django_configured():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, workflows.analyzers as a; "
        "assert 'django' not in sys.modules, 'django was imported'; "
        "print(a.run_analyzer('lgpd', 'Patient John Doe has diabetes')['risk_score'])"
    )
    root = Path(analyzers.__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "85"
