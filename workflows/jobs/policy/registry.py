"""Which Worker class a job row names. Rows never cause imports: Worker subclasses register
themselves when their module is imported, and the apps' `workers` modules (and
JOBS['worker_modules']) are imported at start-up (workflows.jobs.apps)."""

from __future__ import annotations

from typing import Any

_REGISTRY: dict[str, type] = {}


def worker_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_worker(cls: type) -> None:
    _REGISTRY[worker_path(cls)] = cls


def resolve_worker(path: str) -> Any:
    """The registered Worker class at `path`, or None."""
    return _REGISTRY.get(path)


def registered_workers() -> dict[str, type]:
    return dict(_REGISTRY)
