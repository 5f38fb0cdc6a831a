"""Medical-text analyzers (`lgpd`, `claims`, `cfm`) run as sandboxed WebAssembly plugins under
wasmtime, each with a pure-Python reference. Plain package: importable without Django.

    from workflows.analyzers import run_analyzer
    run_analyzer("lgpd", text)  # {"findings": [...], "phi_detected": ..., "risk_score": ...}

Design, ABI, rules and limits: docs/analyzers.md.
"""

from __future__ import annotations

from .api import MAX_INPUT_BYTES, run_analyzer, run_reference
from .errors import AnalyzerError, AnalyzerInputError, AnalyzerTrap
from .registry import ANALYZER_NAMES, analyzer_info
from .selftest import self_test

__all__ = [
    "ANALYZER_NAMES",
    "MAX_INPUT_BYTES",
    "AnalyzerError",
    "AnalyzerInputError",
    "AnalyzerTrap",
    "analyzer_info",
    "run_analyzer",
    "run_reference",
    "self_test",
]
