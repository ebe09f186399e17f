"""Charts as inline SVG strings: no library, no script, no network.

Every chart is an `<svg class="chart" data-chart="NAME">` with a `viewBox` (it
scales with the page), `role="img"` and an `aria-label`; every bar and point
has a `<title>` that browsers show as a tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from migrator.model import KIND_ORDER, Kind
from migrator.reports.kinds import KINDS
from migrator.reports.progress.model import Counts, HistoryPoint, Row

COLORS: dict[Kind, str] = {kind: look.colour for kind, look in KINDS.items()}
REMAINING = "#cf222e"
DONE = "#1a7f37"
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"'

#: Packages drawn at most in the package chart (the table lists all of them).
MAX_PACKAGE_BARS = 40


def _open(name: str, width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" data-chart="{name}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}" {_FONT}>'
    )


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def kind_chart(counts: Counts) -> str:
    """Horizontal bars: sites by kind."""
    row, label_w, bar_w = 28, 130, 360
    height = 12 + row * len(KIND_ORDER)
    width = label_w + bar_w + 70
    peak = max((counts[kind] for kind in KIND_ORDER), default=0) or 1
    parts = [_open("kinds", width, height, "Sites by kind")]
    for index, kind in enumerate(KIND_ORDER):
        y = 6 + index * row
        w = counts[kind] / peak * bar_w
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" fill="#24292f">{kind.value}</text>'
        )
        parts.append(
            f'<rect class="bar" data-kind="{kind.value}" x="{label_w}" y="{y}" '
            f'width="{_num(max(w, 1 if counts[kind] else 0))}" height="18" rx="3" '
            f'fill="{COLORS[kind]}"><title>{kind.value}: {counts[kind]}</title></rect>'
        )
        parts.append(
            f'<text x="{_num(label_w + w + 6)}" y="{y + 14}" fill="#57606a">{counts[kind]}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked_chart(
    name: str, label: str, rows: Sequence[tuple[str, Counts]], label_w: int = 220
) -> str:
    """One stacked bar per row: migrated first, then each kind still to do; % migrated after."""
    row_h, bar_w = 26, 360
    shown = list(rows)[:MAX_PACKAGE_BARS]
    height = 12 + row_h * max(len(shown), 1)
    width = label_w + bar_w + 60
    peak = max((counts.total for _, counts in shown), default=0) or 1
    parts = [_open(name, width, height, label)]
    order = (Kind.MIGRATED, *(k for k in KIND_ORDER if k is not Kind.MIGRATED))
    for index, (title, counts) in enumerate(shown):
        y = 6 + index * row_h
        text = title if len(title) <= 32 else "…" + title[-31:]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" fill="#24292f">'
            f"<title>{escape(title)}</title>{escape(text)}</text>"
        )
        x = float(label_w)
        for kind in order:
            if not counts[kind]:
                continue
            w = counts[kind] / peak * bar_w
            parts.append(
                f'<rect class="bar" data-kind="{kind.value}" x="{_num(x)}" y="{y}" '
                f'width="{_num(w)}" height="16" fill="{COLORS[kind]}">'
                f"<title>{escape(title)}: {counts[kind]} {kind.value}</title></rect>"
            )
            x += w
        parts.append(
            f'<text x="{_num(x + 6)}" y="{y + 13}" fill="#57606a">{counts.progress:.0%}</text>'
        )
    if not shown:
        parts.append(f'<text x="{label_w}" y="20" fill="#57606a">no sites</text>')
    parts.append("</svg>")
    return "".join(parts)


def package_chart(rows: Sequence[Row]) -> str:
    ordered = sorted(rows, key=lambda r: (-r.counts.total, r.name))
    return stacked_chart("packages", "Sites per package", [(r.name, r.counts) for r in ordered])


def _nice(value: int) -> int:
    """A round upper bound for an axis."""
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        bound = int(step * magnitude)
        if bound >= value:
            return bound
    return value


def burndown_chart(points: Sequence[HistoryPoint]) -> str:
    """Sites still to do (and migrated) at each commit, oldest on the left."""
    width, height = 680, 280
    left, right, top, bottom = 48, 16, 30, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice(max((max(p.counts.remaining, p.counts.migrated) for p in points), default=1))
    parts = [_open("burndown", width, height, "Burndown: sites still to do per commit")]

    def x_at(index: int) -> float:
        if len(points) <= 1:
            return left + plot_w / 2
        return left + index * plot_w / (len(points) - 1)

    def y_at(value: int) -> float:
        return top + plot_h - value / peak * plot_h

    for step in range(5):
        value = round(peak * step / 4)
        y = y_at(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}" '
            'stroke="#d0d7de" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{_num(y + 4)}" text-anchor="end" fill="#57606a">{value}</text>'
        )
    every = max(1, -(-len(points) // 8))
    for index, point in enumerate(points):
        if index % every == 0 or index == len(points) - 1:
            parts.append(
                f'<text x="{_num(x_at(index))}" y="{height - bottom + 16}" text-anchor="middle" '
                f'fill="#57606a">{escape(point.short[:7])}</text>'
            )
    for series, color, label in (("remaining", REMAINING, "to do"), ("migrated", DONE, "migrated")):
        values = [
            p.counts.remaining if series == "remaining" else p.counts.migrated for p in points
        ]
        coords = " ".join(f"{_num(x_at(i))},{_num(y_at(v))}" for i, v in enumerate(values))
        parts.append(
            f'<polyline class="series" data-series="{series}" points="{coords}" fill="none" '
            f'stroke="{color}" stroke-width="2.5" stroke-linejoin="round"/>'
        )
        for index, value in enumerate(values):
            point = points[index]
            parts.append(
                f'<circle class="point" data-series="{series}" cx="{_num(x_at(index))}" '
                f'cy="{_num(y_at(value))}" r="3.5" fill="{color}"><title>'
                f"{escape(point.short[:7])} {escape(point.date[:10])}: {value} {label} — "
                f"{escape(point.subject)}</title></circle>"
            )
    legend_y = 16
    parts.append(
        f'<rect x="{left}" y="{legend_y - 9}" width="12" height="4" fill="{REMAINING}"/>'
        f'<text x="{left + 18}" y="{legend_y}" fill="#24292f">sites to do</text>'
        f'<rect x="{left + 110}" y="{legend_y - 9}" width="12" height="4" fill="{DONE}"/>'
        f'<text x="{left + 128}" y="{legend_y}" fill="#24292f">migrated</text>'
    )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle" '
        'fill="#57606a">commits, oldest first</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
