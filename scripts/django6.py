"""The second test environment: the newest Django 6.x in .venv-django6, for the tests of the
Django Tasks backend (workflows.jobs.tasks) and the engine tests they need. The project runs
on Django 5.2 with the django-tasks backport; Django 6 has the Tasks API built in (django.tasks)
and needs Python >= 3.12, so this environment is made with such a Python when the machine has
one (on PATH, or installed by pyenv), and skipped with a message when it has none.

Used by scripts/dev.py (`test` runs it after the main suite; `test-django6` runs it alone).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-django6"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".healthcare-cms-installed"
DJANGO_REQUIREMENT = "Django>=6.0,<7"
# Requirements of the main environment that this one replaces or does not need.
LEFT_OUT = {"django", "django-tasks", "ziglang", "playwright", "ruff", "import-linter"}
TESTS = [
    "tests/jobs/test_tasks_backend.py",
    "tests/jobs/test_recorded_results.py",
    "tests/jobs/test_tasks_cluster.py",
]
# The whole run (install check and tests) is stopped after this long.
RUN_TIMEOUT_SECONDS = 420


def say(message: str) -> None:
    print(f"[dev django6] {message}", flush=True)


def _runs(python: str) -> bool:
    try:
        result = subprocess.run(
            [python, "-c", "import sys, venv; sys.exit(sys.version_info < (3, 12))"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def python_312_or_newer() -> str | None:
    """A Python >= 3.12 on this machine (pyenv's shims fail for a version not selected, so
    each candidate is run before it is chosen)."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (14, 13, 12)]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.1[2-9]*/bin/python3"), reverse=True)
    for candidate in candidates:
        if candidate and _runs(candidate):
            return candidate
    return None


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [DJANGO_REQUIREMENT, *(r for r in wanted if _name(r) not in LEFT_OUT)]


def ensure_venv() -> bool:
    """Create or update .venv-django6; False when no Python >= 3.12 is available."""
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + Path(__file__).read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest and PYTHON.exists():
        return True
    if not PYTHON.exists():
        base = python_312_or_newer()
        if base is None:
            say("no Python >= 3.12 on this machine: the Django 6 tests are skipped")
            return False
        say(f"creating .venv-django6 with {base}")
        subprocess.run([base, "-m", "venv", str(VENV)], check=True, cwd=ROOT)
    say("installing Django 6 and the project's requirements (Django 5.2's left out)")
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *requirements()], check=True, cwd=ROOT)
    subprocess.run([*pip, "--no-deps", "-e", "."], check=True, cwd=ROOT)
    STAMP.write_text(digest)
    return True


def own_database_url() -> dict[str, str]:
    """DATABASE_URL with `_django6` after the database name, so this run's test database
    never meets the main run's."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return {}
    parts = urlsplit(url)
    return {"DATABASE_URL": urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_django6"))}


def run_tests(extra: list[str] | None = None) -> int:
    if not ensure_venv():
        return 0
    version = subprocess.run(
        [str(PYTHON), "-c", "import django; print(django.get_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    say(f"the Django Tasks backend's tests under Django {version}")
    env = {**os.environ, **own_database_url()}
    command = [str(PYTHON), "-m", "pytest", "-p", "no:randomly", *TESTS, *(extra or [])]
    try:
        return subprocess.call(command, cwd=ROOT, env=env, timeout=RUN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        say(f"stopped after {RUN_TIMEOUT_SECONDS} s")
        return 1


if __name__ == "__main__":
    sys.exit(run_tests(sys.argv[1:]))
