"""Turn raw plugin findings (rule id, byte span) into the public result: character offsets, rule
metadata from rules.py, and for `lgpd` the PHI flag and risk score. Same path for wasm and
reference, so both are scored alike."""

from __future__ import annotations

import re
from bisect import bisect_left

from .errors import AnalyzerError
from .rules import rules_for
from .scoring import phi_detected, risk_score

_CONTINUATION = re.compile(rb"[\x80-\xbf]")


def char_offsets(data: bytes, offsets: set[int]) -> dict[int, int]:
    """Map UTF-8 byte offsets of `data` to str indices; an offset inside a character is an error.

    A str index is the byte offset minus the continuation bytes (0x80-0xBF) before it.
    """
    for offset in offsets:
        if offset < len(data) and 0x80 <= data[offset] <= 0xBF:
            raise AnalyzerError(f"a finding boundary at byte {offset} splits a UTF-8 character")
    if data.isascii():
        return {offset: offset for offset in offsets}
    continuation = [match.start() for match in _CONTINUATION.finditer(data)]
    return {offset: offset - bisect_left(continuation, offset) for offset in offsets}


def build_findings(name: str, raw: list[tuple[str, int, int]], data: bytes) -> list[dict]:
    """Public findings sorted by (start, end, rule); unknown rule ids fail closed."""
    rules = rules_for(name)
    for rule, _, _ in raw:
        if rule not in rules:
            raise AnalyzerError(f"{name}: the module reported unknown rule {rule!r}")
    mapping = char_offsets(data, {o for _, start, end in raw for o in (start, end)})
    findings = [
        {
            "rule": rule,
            "start": mapping[start],
            "end": mapping[end],
            "severity": rules[rule].severity,
            "legal_reference": rules[rule].legal_reference,
        }
        for rule, start, end in raw
    ]
    findings.sort(key=lambda f: (f["start"], f["end"], f["rule"]))
    return findings


def build_result(name: str, raw: list, data: bytes, header: dict) -> dict:
    result = dict(header)
    result["findings"] = build_findings(name, raw, data)
    if name == "lgpd":
        kinds = [finding["rule"] for finding in result["findings"]]
        result["phi_detected"] = phi_detected(kinds)
        result["risk_score"] = risk_score(kinds)
    return result
