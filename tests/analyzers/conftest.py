"""Fixtures for the analyzer tests: every rule check runs against the wasm and the reference."""

from __future__ import annotations

import random

import pytest

from healthcare_cms.privacy.identifiers import cns_generate, cpf_generate
from workflows.analyzers import run_analyzer, run_reference

ENGINES = {"wasm": run_analyzer, "reference": run_reference}


@pytest.fixture(params=sorted(ENGINES))
def engine(request):
    return ENGINES[request.param]


@pytest.fixture
def found(engine):
    """found(analyzer, text) -> [(rule, matched text)] in order, for readable assertions."""

    def found(name: str, text: str) -> list[tuple[str, str]]:
        result = engine(name, text)
        return [(f["rule"], text[f["start"] : f["end"]]) for f in result["findings"]]

    return found


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20240311)


@pytest.fixture
def cpf(rng) -> str:
    """A synthetic, valid, formatted CPF."""
    return cpf_generate(rng)


@pytest.fixture
def cns(rng) -> str:
    """A synthetic, valid, definitive CNS (15 bare digits)."""
    return cns_generate(rng)
