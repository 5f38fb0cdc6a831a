"""Django tasks used by the tasks-backend tests, importable by real qcluster subprocesses
(JOBS_WORKER_MODULES=tests.support.tasks_app). Written as an app writes them: `@task`."""

from __future__ import annotations

import asyncio
import os
import time

from tests.support.workers import INSERT_EXECUTION, _witness_connection
from workflows.jobs.tasks.compat import task


def _witness(kind: str, payload: str) -> None:
    _witness_connection().execute(INSERT_EXECUTION, [None, kind, 0, os.getpid(), "", payload])


@task
def add(a, b):
    return a + b


@task(priority=50)
async def async_echo(value):
    await asyncio.sleep(0)
    return {"echoed": value, "loop": asyncio.get_running_loop() is not None}


@task(takes_context=True)
def with_context(context, note):
    return {"attempt": context.attempt, "note": note, "id": context.task_result.id}


@task
def always_fails(marker):
    raise ValueError(f"failed for {marker}")


@task
def witness_start(label):
    _witness("task-start", label)
    return label


@task
def returns_a_set():
    return {1, 2}


@task
def sleeps(seconds):
    _witness("task-sleeping", str(seconds))
    time.sleep(seconds)
    return seconds
