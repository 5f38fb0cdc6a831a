"""The tasks this process knows, by module path. A task registers itself when its module is
imported (JobsTask.__post_init__); the worker that runs tasks looks them up here, so a job row
never causes an import (the same rule as Workers: workflows.jobs.policy.registry).

Task modules are found like Workers: each installed app's `workers` module and the modules in
JOBS['worker_modules'], imported at start-up by every process (workflows.jobs.apps).
"""

from __future__ import annotations

from typing import Any

_TASKS: dict[str, Any] = {}


def register_task(task: Any) -> None:
    """Remember the first Task built for a function (the decorated one, not its .using()
    copies)."""
    _TASKS.setdefault(task.module_path, task)


def registered_task(module_path: Any) -> Any:
    """The Task registered under `module_path`, or None."""
    return _TASKS.get(module_path) if isinstance(module_path, str) else None


def registered_tasks() -> dict[str, Any]:
    return dict(_TASKS)
