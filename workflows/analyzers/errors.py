"""Exceptions of the analyzers package. Messages say what was wrong and never quote the text."""

from __future__ import annotations

TRAP_REASONS = ("fuel", "deadline", "memory", "stack", "trap")


class AnalyzerError(Exception):
    """An analyzer could not produce a trustworthy result: unknown name, a plugin that fails its
    checksum or breaks the ABI (bad abi_version, out-of-range spans, invalid JSON). Fail closed."""


class AnalyzerInputError(AnalyzerError):
    """The content cannot be analysed: not a str, empty or only whitespace, or over the size
    limit."""


class AnalyzerTrap(AnalyzerError):
    """The sandbox stopped the module. `reason` is one of TRAP_REASONS."""

    def __init__(self, reason: str, message: str):
        if reason not in TRAP_REASONS:
            raise ValueError(f"unknown trap reason {reason!r}; expected one of {TRAP_REASONS}")
        super().__init__(message)
        self.reason = reason
