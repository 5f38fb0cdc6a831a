"""A workflow's graph, checked before any SQL: step names, deps, failure policies, size, and
the order in which the steps are inserted (every dep before its dependents, so job ids are a
topological order). Pure: no database."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from workflows.jobs.policy.errors import JobValidationError

ON_DEP_FAILURE = ("cancel", "discard", "run")
MAX_STEP_NAME_LENGTH = 128
MAX_WORKFLOW_NAME_LENGTH = 200


@dataclass(frozen=True)
class StepSpec:
    """One step as the graph sees it: its name, the names it waits for, and what it does when
    one of them ends discarded or cancelled."""

    name: str
    deps: tuple[str, ...]
    on_dep_failure: str


def check_workflow_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise JobValidationError(f"A workflow needs a non-empty name; got {name!r}.")
    if len(name) > MAX_WORKFLOW_NAME_LENGTH:
        raise JobValidationError(
            f"A workflow name has at most {MAX_WORKFLOW_NAME_LENGTH} characters; got {len(name)}."
        )
    return name


def check_step(name: object, deps: object, on_dep_failure: object) -> StepSpec:
    """One step's own fields (the graph is checked as a whole by topological_order)."""
    if not isinstance(name, str) or not name.strip():
        raise JobValidationError(f"A workflow step needs a non-empty name; got {name!r}.")
    if len(name) > MAX_STEP_NAME_LENGTH:
        raise JobValidationError(
            f"Step '{name[:40]}...': a step name has at most {MAX_STEP_NAME_LENGTH} characters."
        )
    if isinstance(deps, str) or not isinstance(deps, Sequence | set | frozenset):
        raise JobValidationError(
            f"Step '{name}': deps must be a list of step names; got {type(deps).__name__}."
        )
    deps = tuple(deps)
    for dep in deps:
        if not isinstance(dep, str):
            raise JobValidationError(f"Step '{name}': deps must be step names; got {dep!r}.")
    if len(set(deps)) != len(deps):
        raise JobValidationError(f"Step '{name}' names a dep twice: {list(deps)}.")
    if name in deps:
        raise JobValidationError(f"Step '{name}' depends on itself.")
    if on_dep_failure not in ON_DEP_FAILURE:
        raise JobValidationError(
            f"Step '{name}': on_dep_failure must be one of {ON_DEP_FAILURE}; "
            f"got {on_dep_failure!r}."
        )
    return StepSpec(name, deps, str(on_dep_failure))


def topological_order(steps: Sequence[StepSpec], *, max_steps: int) -> list[int]:
    """Indexes of `steps` with every dep before its dependents, in the order added where the
    graph allows. Refuses an empty workflow, too many steps, duplicate names, unknown deps and
    cycles, naming the steps."""
    if not steps:
        raise JobValidationError("A workflow needs at least one step.")
    if len(steps) > max_steps:
        raise JobValidationError(
            f"A workflow has at most {max_steps} steps (JOBS_WORKFLOW_MAX_STEPS); "
            f"this one has {len(steps)}."
        )
    index: dict[str, int] = {}
    for position, step in enumerate(steps):
        if step.name in index:
            raise JobValidationError(f"Two steps are named '{step.name}'.")
        index[step.name] = position
    for step in steps:
        unknown = [dep for dep in step.deps if dep not in index]
        if unknown:
            raise JobValidationError(
                f"Step '{step.name}' depends on unknown step(s) {unknown}; "
                f"steps are {sorted(index)[:20]}."
            )
    waiting = [len(step.deps) for step in steps]
    dependents: list[list[int]] = [[] for _ in steps]
    for position, step in enumerate(steps):
        for dep in step.deps:
            dependents[index[dep]].append(position)
    # Smallest position first: the order added, where the graph allows.
    ready = [position for position, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        position = heapq.heappop(ready)
        order.append(position)
        for dependent in dependents[position]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(order) < len(steps):
        stuck = [steps[p].name for p in range(len(steps)) if waiting[p] > 0]
        raise JobValidationError(
            f"The workflow's deps form a cycle through step(s) {stuck[:20]}: a step cannot "
            f"wait for itself, directly or through others."
        )
    return order
