"""Server-rendered SVG charts: no script, readable by a screen reader (title, description
and a table beside each chart in the page)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from html import escape

# Colours with at least 3:1 contrast against white (WCAG non-text contrast).
SERVICE_COLOURS = {
    "voice": "#1f5fbf",
    "sms": "#a14f00",
    "whatsapp": "#17754a",
}
OTHER_COLOUR = "#6b4fa3"


@dataclass(frozen=True)
class DaySpend:
    day: date
    service: str
    amount_minor: int


def colour_of(service: str) -> str:
    return SERVICE_COLOURS.get(service, OTHER_COLOUR)


def spend_by_day(spend: Iterable[DaySpend], days: list[date], title: str, description: str) -> str:
    """A stacked bar per day, one colour per service; heights relative to the top day."""
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    for item in spend:
        per_day[item.day][item.service] = per_day[item.day].get(item.service, 0) + item.amount_minor
    top = max((sum(services.values()) for services in per_day.values()), default=0) or 1
    width, height, gap = 620, 180, 2
    bar = (width - gap * len(days)) / max(len(days), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height + 24}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
        f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#555" />',
    ]
    for index, day in enumerate(days):
        x = index * (bar + gap)
        y = float(height)
        for service in sorted(per_day.get(day, {})):
            amount = per_day[day][service]
            tall = height * amount / top
            y -= tall
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{tall:.1f}" '
                f'fill="{colour_of(service)}"><title>{day.isoformat()} {escape(service)}'
                f"</title></rect>"
            )
        if day.day in (1, 8, 15, 22, 29):
            parts.append(
                f'<text x="{x:.1f}" y="{height + 19}" font-size="16" fill="#222">{day.day}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
