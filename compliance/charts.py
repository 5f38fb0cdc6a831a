"""A horizontal bar chart as inline SVG: reports render without JavaScript or a chart library."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_HEIGHT = 22
LABEL_WIDTH = 220
CHART_WIDTH = 640


def bar_chart(values: dict[str, int | float], *, title: str) -> SafeString:
    items = [(str(label), float(value)) for label, value in values.items()]
    if not items:
        return mark_safe(f"<p>{escape(title)}: nothing in this period.</p>")
    largest = max(value for _, value in items) or 1.0
    span = CHART_WIDTH - LABEL_WIDTH - 60
    height = BAR_HEIGHT * len(items) + 30
    rows = []
    for index, (label, value) in enumerate(items):
        y = 24 + index * BAR_HEIGHT
        width = max(1, int(span * value / largest))
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT - 6}"'
            f' fill="#417690"><title>{escape(label)}: {value:g}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 14}">{value:g}</text>'
        )
    return mark_safe(
        f'<svg class="report-chart" role="img" aria-label="{escape(title)}" width="{CHART_WIDTH}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" font-size="12" '
        f'font-family="sans-serif"><text x="0" y="14" font-weight="bold">{escape(title)}</text>'
        + "".join(rows)
        + "</svg>"
    )
