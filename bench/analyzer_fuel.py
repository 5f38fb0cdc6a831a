"""Fuel per input byte of the analyzer plugins on adversarial repetitions (the sandbox budget).

    .venv/bin/python bench/analyzer_fuel.py [--size 16384] [--top 5]

For every analyzer: the fuel per byte of each prefix of each keyword repeated with a space
(the worst case the budget in runtime.SandboxLimits was set against), and of a few hand-made
repetitions that drive the costliest code paths (titles and names that look at their line,
contacts that look for a business marker, e-mail anchors). Prints the worst ones; only sizes
and fuel are printed, and the inputs are made of keywords, never of real text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflows.analyzers import ANALYZER_NAMES, AnalyzerTrap, registry
from workflows.analyzers.reference.lexicon import entries
from workflows.analyzers.runtime import DEFAULT_LIMITS

HAND_MADE = (
    "Paciente Ab ",
    "Paciente Oncológico ",
    "Maria Souza ",
    "Maria ",
    "M.S. ",
    "Rua Ab, 1 ",
    "(11) 3456-7890 ",
    "a@b.co ",
    "x arroba y ponto com ",
    "[at] ",
    "92 anos ",
    "há 9 anos ",
    "Dona Ana ",
    "prontuário 12345 ",
    "9 9134-2278 ",
    "o melhor ",
    "não garantimos ",
    "procure um ",
    "98% de cura ",
)


def fuel_per_byte(name: str, text: str, size: int) -> float:
    plugin = registry.load(name)
    data = (text * (size // len(text.encode()) + 1)).encode()[:size]
    data = data.decode("utf-8", errors="ignore").encode()
    budget = DEFAULT_LIMITS.fuel_for(len(data))

    def work(store, exports):
        plugin._call(store, exports, data)
        return budget - store.get_fuel()

    try:
        return plugin._sandboxed(len(data), work) / len(data)
    except AnalyzerTrap as trap:  # over the budget: report it as the budget, marked by the caller
        if trap.reason != "fuel":
            raise
        return float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"budget: {DEFAULT_LIMITS.fuel_per_byte} fuel per byte (+{DEFAULT_LIMITS.fuel_base})")
    for name in ANALYZER_NAMES:
        candidates = set(HAND_MADE)
        for word, _ in entries(name):
            text = word.decode("utf-8", errors="ignore")
            for k in range(1, len(text) + 1):
                candidates.add(text[:k] + " ")
        costs = sorted(
            ((fuel_per_byte(name, text, args.size), text) for text in candidates), reverse=True
        )
        worst = ", ".join(f"{cost:.0f} ({text!r})" for cost, text in costs[: args.top])
        print(f"{name}: {len(candidates)} repetitions; worst fuel per byte: {worst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
