"""Pure-Python reference implementations of the analyzers, byte for byte the same algorithm as the
C plugins: the property tests hold the wasm to them, and they run where wasmtime cannot."""

from __future__ import annotations

from collections.abc import Callable

from . import cfm, claims, lgpd

ANALYZE: dict[str, Callable[[bytes], list[tuple[str, int, int]]]] = {
    "lgpd": lgpd.analyze,
    "claims": claims.analyze,
    "cfm": cfm.analyze,
}


def analyze(name: str, data: bytes) -> list[tuple[str, int, int]]:
    """Raw findings (rule, start byte, end byte) of analyzer `name` on UTF-8 `data`."""
    return ANALYZE[name](data)
