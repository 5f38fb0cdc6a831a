"""Running `manage.py` in a subprocess, as a deployer or a developer would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from tests.support.clusters import PROJECT_ROOT


def manage_py(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` in the project folder; output captured as text.

    env replaces the whole environment (default: this process's)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=dict(os.environ if env is None else env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
