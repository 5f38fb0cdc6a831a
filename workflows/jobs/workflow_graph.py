"""A workflow drawn as a server-rendered SVG: steps in columns by depth (a step one column
right of its deepest dep), edges as lines, each step coloured by its state and linked to its
job. Every text is escaped; no script, no client-side library."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

STATE_COLOURS = {
    "suspended": "#d9d9d9",
    "available": "#9ecae1",
    "scheduled": "#c6dbef",
    "executing": "#fdd0a2",
    "retryable": "#fdae6b",
    "completed": "#a1d99b",
    "discarded": "#fc9272",
    "cancelled": "#bdbdbd",
}
NODE_WIDTH, NODE_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 150, 40, 60, 14, 10
# A wide fan-out is drawn up to this many steps per column; the rest are counted.
MAX_ROWS = 40


@dataclass(frozen=True)
class GraphStep:
    id: int
    name: str
    state: str
    deps: tuple[int, ...]


def depths(steps: Sequence[GraphStep]) -> dict[int, int]:
    """Column of each step: 0 without deps, else one more than its deepest dep. Steps come in
    id order, which insert_workflow makes topological."""
    depth: dict[int, int] = {}
    for step in steps:
        depth[step.id] = 1 + max((depth.get(dep, 0) for dep in step.deps), default=-1)
    return depth


def render_svg(steps: Sequence[GraphStep], link: Callable[[int], str]) -> SafeString:
    depth = depths(steps)
    columns: dict[int, list[GraphStep]] = {}
    for step in steps:
        columns.setdefault(depth[step.id], []).append(step)
    position: dict[int, tuple[int, int]] = {}
    hidden: dict[int, int] = {}
    for column, members in columns.items():
        for row, step in enumerate(members[:MAX_ROWS]):
            x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
            y = MARGIN + row * (NODE_HEIGHT + ROW_GAP)
            position[step.id] = (x, y)
        hidden[column] = max(0, len(members) - MAX_ROWS)
    rows = min(MAX_ROWS, max((len(m) for m in columns.values()), default=1)) + 1
    width = MARGIN * 2 + len(columns) * (NODE_WIDTH + COLUMN_GAP)
    height = MARGIN * 2 + rows * (NODE_HEIGHT + ROW_GAP)
    parts: list[str] = []
    for step in steps:
        if step.id not in position:
            continue
        x2, y2 = position[step.id]
        for dep in step.deps:
            if dep in position:
                x1, y1 = position[dep]
                parts.append(
                    format_html(
                        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888" '
                        'marker-end="url(#arrow)"/>',
                        x1 + NODE_WIDTH,
                        y1 + NODE_HEIGHT // 2,
                        x2,
                        y2 + NODE_HEIGHT // 2,
                    )
                )
    for step in steps:
        if step.id not in position:
            continue
        x, y = position[step.id]
        parts.append(
            format_html(
                '<a href="{}"><g class="wf-step wf-{}"><title>{} (job {}): {}</title>'
                '<rect x="{}" y="{}" width="{}" height="{}" rx="6" fill="{}" stroke="#555"/>'
                '<text x="{}" y="{}" font-size="12">{}</text>'
                '<text x="{}" y="{}" font-size="10" fill="#333">{}</text></g></a>',
                link(step.id),
                step.state,
                step.name,
                step.id,
                step.state,
                x,
                y,
                NODE_WIDTH,
                NODE_HEIGHT,
                STATE_COLOURS.get(step.state, "#fff"),
                x + 8,
                y + 16,
                step.name[:22],
                x + 8,
                y + 32,
                step.state,
            )
        )
    for column, count in hidden.items():
        if count:
            x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
            y = MARGIN + MAX_ROWS * (NODE_HEIGHT + ROW_GAP) + 16
            parts.append(format_html('<text x="{}" y="{}">+ {} more</text>', x, y, count))
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jobs-workflow-graph" width="{width}" '
        f'height="{height}" role="img" aria-label="workflow graph">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker>'
        "</defs>" + "".join(str(part) for part in parts) + "</svg>"
    )


__all__ = ["GraphStep", "depths", "render_svg"]
