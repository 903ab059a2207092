"""Charts drawn on the server as inline SVG: no JavaScript library, no CDN, so the console
works offline and a page costs no extra request.

Every function returns markup already escaped (``SafeString``); numbers are formatted by
us and labels go through ``escape``.
"""

from collections.abc import Sequence
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

UP, DOWN, UNKNOWN = "#1a7f37", "#cf222e", "#d0d7de"
SERIES_COLOURS = ("#0969da", "#8250df", "#bf3989", "#1a7f37", "#bc4c00", "#6e7781")
PHASE_COLOURS = ("#54aeff", "#8250df", "#bf8700", "#1a7f37", "#cf222e")


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def sparkline(values: Sequence[float | None], *, width: int = 120, height: int = 24, label: str = "") -> SafeString:
    """A small line of the values, gaps where a value is None; empty when there are none."""
    known = [value for value in values if value is not None]
    if not known:
        return mark_safe(f'<svg class="spark" width="{width}" height="{height}" role="img" aria-label="no data"></svg>')
    top = max(known) or 1.0
    step = width / max(1, len(values) - 1)
    paths: list[list[str]] = []
    current: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                paths.append(current)
            current = []
            continue
        y = height - 2 - (value / top) * (height - 4)
        current.append(f"{_number(index * step)},{_number(y)}")
    if current:
        paths.append(current)
    lines = "".join(
        f'<polyline fill="none" stroke="{SERIES_COLOURS[0]}" stroke-width="1.5" points="{" ".join(points)}"/>'
        if len(points) > 1
        else f'<circle r="1.5" fill="{SERIES_COLOURS[0]}" cx="{points[0].split(",")[0]}" cy="{points[0].split(",")[1]}"/>'
        for points in paths
    )
    return mark_safe(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">{lines}</svg>'
    )


def line_chart(
    series: dict[str, list[tuple[datetime, float]]],
    *,
    start: datetime,
    end: datetime,
    unit: str = "ms",
    width: int = 720,
    height: int = 180,
) -> SafeString:
    """One line per series over [start, end], a y axis from 0 to the highest value."""
    left, bottom, top_pad = 48, 20, 8
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    values = [value for points in series.values() for _, value in points]
    if not values:
        return mark_safe(
            f'<svg class="chart" width="100%" viewBox="0 0 {width} {height}" role="img" aria-label="no data">'
            f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle" fill="#6e7781">No data yet</text></svg>'
        )
    top = max(values) or 1.0
    span = (end - start).total_seconds() or 1.0
    parts = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 8}" y2="{top_pad + plot_h}" stroke="#d0d7de"/>',
        f'<text x="{left - 4}" y="{top_pad + 8}" text-anchor="end" font-size="10">{_number(top)} {escape(unit)}</text>',
        f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end" font-size="10">0</text>',
    ]
    legend = []
    for index, (name, points) in enumerate(sorted(series.items())):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        coords = " ".join(
            f"{_number(left + (at - start).total_seconds() / span * plot_w)},"
            f"{_number(top_pad + plot_h - value / top * plot_h)}"
            for at, value in points
        )
        if len(points) == 1:
            x, y = coords.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="{colour}"/>')
        elif points:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>')
        legend.append(
            f'<text x="{left + 8 + index * 70}" y="{height - 4}" font-size="11" fill="{colour}">■ {escape(name)}</text>'
        )
    return mark_safe(
        f'<svg class="chart" width="100%" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="response time">{"".join(parts)}{"".join(legend)}</svg>'
    )


def stacked_bar(phases: Sequence[tuple[str, float | None]], *, width: int = 360, height: int = 18) -> SafeString:
    """One horizontal bar split into the phases' shares, each titled with its milliseconds."""
    known = [(name, value) for name, value in phases if value]
    total = sum(value for _, value in known)
    if not total:
        return mark_safe(f'<svg width="{width}" height="{height}" role="img" aria-label="no phases"></svg>')
    x, rects = 0.0, []
    for index, (name, value) in enumerate(phases):
        if not value:
            continue
        w = value / total * width
        rects.append(
            f'<rect x="{_number(x)}" y="0" width="{_number(w)}" height="{height}" '
            f'fill="{PHASE_COLOURS[index % len(PHASE_COLOURS)]}"><title>{escape(name)}: {_number(value)} ms</title></rect>'
        )
        x += w
    return mark_safe(
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="phases">{"".join(rects)}</svg>'
    )


def daily_bars(days: Sequence[tuple[str, float | None]], *, height: int = 28) -> SafeString:
    """A bar per day: green at 100 %, red below, grey where nothing was monitored.
    ``days`` is ``(label, availability percent or None)``, oldest first."""
    bar, gap = 6, 2
    width = len(days) * (bar + gap)
    rects = []
    for index, (label, percent) in enumerate(days):
        colour = UNKNOWN if percent is None else (UP if percent >= 100 else DOWN)
        text = "no data" if percent is None else f"{percent:.2f} %"
        rects.append(
            f'<rect x="{index * (bar + gap)}" y="0" width="{bar}" height="{height}" rx="1" fill="{colour}">'
            f"<title>{escape(label)}: {text}</title></rect>"
        )
    return mark_safe(
        f'<svg class="days" width="100%" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="daily uptime">{"".join(rects)}</svg>'
    )


def dot(outcome: str | None, *, title: str = "") -> SafeString:
    colour = {"up": UP, "down": DOWN, "error": "#bf8700"}.get(outcome or "", UNKNOWN)
    return mark_safe(
        f'<svg width="10" height="10" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<circle cx="5" cy="5" r="4" fill="{colour}"/></svg>'
    )
