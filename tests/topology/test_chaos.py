"""The chaos soak (bench/chaos.py, run as its own process) as tests: a bounded run in the
default test command, and a long one run by hand (docs/reliability.md records its table):

    CHAOS_SOAK_MINUTES=30 .venv/bin/python -m pytest -m soak tests/topology/test_chaos.py -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.clusters import PROJECT_ROOT
from tests.support.pgbouncer import binary as pgbouncer_binary
from tests.support.pgservers import available as postgresql_available

CI_MINUTES = 2.0  # the CI soak: about 40 faults, every kind several times
FAULT_KINDS = 6


def _soak(tmp_path, minutes: float, seed: int) -> dict:
    if pgbouncer_binary() is None or not postgresql_available():
        pytest.skip("the soak needs pgbouncer and the PostgreSQL 15 binaries")
    out = tmp_path / "chaos.json"
    completed = subprocess.run(
        [sys.executable, "bench/chaos.py", "--minutes", str(minutes), "--seed", str(seed),
         "--fault-every", "3", "--json", str(out)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=minutes * 60 + 900,
    )  # fmt: skip
    print(completed.stdout[-6000:])
    assert out.exists(), completed.stdout[-4000:] + completed.stderr[-4000:]
    return json.loads(out.read_text())


def _assert_held(result: dict) -> None:
    broken = [row for row in result["invariants"] if not row["held"]]
    assert not broken, broken
    assert len(result["faults"]) == FAULT_KINDS, f"every kind of fault: {result['faults']}"


@pytest.mark.cluster
@pytest.mark.chaos
@pytest.mark.timeout(900)
def test_a_bounded_soak_of_mixed_faults_loses_and_doubles_nothing(tmp_path):
    _assert_held(_soak(tmp_path, CI_MINUTES, seed=16))


@pytest.mark.soak
@pytest.mark.timeout(0)
def test_the_long_soak_loses_and_doubles_nothing(tmp_path):
    minutes = float(os.environ.get("CHAOS_SOAK_MINUTES", "0"))
    if not minutes:
        pytest.skip("set CHAOS_SOAK_MINUTES (e.g. 30) to run the long soak")
    _assert_held(_soak(tmp_path, minutes, seed=int(os.environ.get("CHAOS_SOAK_SEED", "16"))))
