"""The dependency rules of docs/architecture.md are checked by import-linter (contracts in
pyproject.toml); the test command runs `lint-imports` too. Here: it passes on the tree, and
it fails when a forbidden import is added."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_the_tree_keeps_every_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("workflows/jobs/policy/states.py", "import django_q  # noqa", "Only the runner"),
        (
            "workflows/jobs/store/rows.py",
            "from workflows.jobs.api import worker  # noqa",
            "layers depend only downwards",
        ),
        (
            "compliance/health.py",
            "from workflows.jobs.store import sql  # noqa",
            "through workflows.jobs and workflows.jobs.testing",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    for name in ("workflows", "compliance", "healthcare_cms"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert contract in result.stdout, result.stdout
