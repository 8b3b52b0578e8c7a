"""Server-side SVG charts: bars, stacked bars and lines, each with a title, axes, ticks and units.

Pure functions from numbers to an SVG string (no JavaScript, no external resources); every text is
escaped. Values are non-negative (counts, money, shares, days); None means "no value" and draws
nothing. Shared by the monthly report and (later) the dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadledger.web.format import tick
from leadledger.web.svg import (
    FONT,
    INK,
    PALETTE,
    Fmt,
    Frame,
    esc,
    frame,
    legend,
    no_data,
    open_svg,
    reference,
    text_width,
    x_axis,
    y_axis,
)


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values, one per category (None: no value)."""

    name: str
    values: Sequence[float | None]
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """A dashed horizontal line to compare against, e.g. a benchmark or the 3:1 line."""

    value: float
    label: str
    color: str = INK


def _references(f: Frame, refs: Sequence[Reference]) -> list[str]:
    """Reference lines, highest first; a label that would overlap the one above goes under its line."""
    out, last = [], -1e9
    for r in sorted(refs, key=lambda r: -r.value):
        below = f.y(r.value) - 5 - last < FONT + 2
        out.append(reference(f, r.value, r.label, color=r.color, label_below=below))
        last = f.y(r.value) + (14 if below else -5)
    return out


def _colors(series: Sequence[Series]) -> list[str]:
    return [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]


def _values(series: Sequence[Series]) -> list[float]:
    return [v for s in series for v in s.values if v is not None]


def _legend(series: Sequence[Series], colors: Sequence[str]) -> str:
    if len(series) < 2:
        return ""
    return legend([(s.name, c, False) for s, c in zip(series, colors, strict=True)])


def _start(
    categories: Sequence[str], series: Sequence[Series], tops: Sequence[float], *,
    x_label: str, fmt: Fmt, width: int, height: int, whole: bool,
) -> Frame:
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(categories)} categories")
    return frame(width=width, height=height, values=tops, categories=categories, fmt=fmt,
                 legend=len(series) > 1, x_label=bool(x_label), whole=whole)


def _describe(kind: str, categories: Sequence[str], series: Sequence[Series], y_label: str) -> str:
    names = ", ".join(s.name for s in series)
    return f"{kind} of {names} ({y_label}) for {len(categories)} categories"


def bar_chart(
    title: str, categories: Sequence[str], series: Sequence[Series], *, y_label: str, x_label: str = "",
    fmt: Fmt = tick, refs: Sequence[Reference] = (), width: int = 640, height: int = 300,
    value_labels: bool = True, whole: bool = False,
) -> str:
    """Vertical bars, grouped side by side when there are several series; a label over each bar."""
    tops = _values(series) + [r.value for r in refs]
    f = _start(categories, series, tops, x_label=x_label, fmt=fmt, width=width, height=height, whole=whole)
    colors = _colors(series)
    parts = [open_svg(f, title, _describe("Bar chart", categories, series, y_label)),
             _legend(series, colors), y_axis(f, fmt, y_label)]
    for i, category in enumerate(categories):
        x, w = f.band(i)
        bar_w = w * 0.7 / max(1, len(series))
        for j, s in enumerate(series):
            v = s.values[i]
            if v is None:
                continue
            bx, y = x + w * 0.15 + j * bar_w, f.y(v)
            parts.append(
                f'<rect class="bar" data-series="{esc(s.name)}" data-category="{esc(category)}" '
                f'x="{bx:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{f.base - y:.1f}" '
                f'fill="{colors[j]}"><title>{esc(category)} · {esc(s.name)}: {esc(fmt(v))}</title></rect>'
            )
            label = fmt(v)
            if value_labels and text_width(label, FONT - 1) <= bar_w + 6:
                parts.append(
                    f'<text class="value" x="{bx + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                    f'font-size="{FONT - 1}" fill="{INK}">{esc(label)}</text>'
                )
    parts += _references(f, refs)
    if not _values(series):
        parts.append(no_data(f))
    parts += [x_axis(f, categories, x_label), "</svg>"]
    return "".join(parts)


def stacked_bars(
    title: str, categories: Sequence[str], series: Sequence[Series], *, y_label: str, x_label: str = "",
    fmt: Fmt = tick, width: int = 640, height: int = 300, whole: bool = False,
) -> str:
    """One bar per category, series stacked bottom-up in order; the total over each bar."""
    totals = [sum(s.values[i] or 0.0 for s in series) for i in range(len(categories))]
    f = _start(categories, series, totals, x_label=x_label, fmt=fmt, width=width, height=height, whole=whole)
    colors = _colors(series)
    parts = [open_svg(f, title, _describe("Stacked bar chart", categories, series, y_label)),
             _legend(series, colors), y_axis(f, fmt, y_label)]
    for i, category in enumerate(categories):
        x, w = f.band(i)
        bx, bar_w, below = x + w * 0.15, w * 0.7, 0.0
        for j, s in enumerate(series):
            v = s.values[i]
            if not v:
                continue
            y0, y1 = f.y(below), f.y(below + v)
            parts.append(
                f'<rect class="bar" data-series="{esc(s.name)}" data-category="{esc(category)}" '
                f'x="{bx:.1f}" y="{y1:.1f}" width="{bar_w:.1f}" height="{y0 - y1:.1f}" fill="{colors[j]}">'
                f"<title>{esc(category)} · {esc(s.name)}: {esc(fmt(v))}</title></rect>"
            )
            below += v
        label = fmt(totals[i])
        if totals[i] and text_width(label, FONT - 1) <= w + 4:
            parts.append(
                f'<text class="value" x="{bx + bar_w / 2:.1f}" y="{f.y(totals[i]) - 4:.1f}" '
                f'text-anchor="middle" font-size="{FONT - 1}" fill="{INK}">{esc(label)}</text>'
            )
    if not any(totals):
        parts.append(no_data(f))
    parts += [x_axis(f, categories, x_label), "</svg>"]
    return "".join(parts)


def line_chart(
    title: str, categories: Sequence[str], series: Sequence[Series], *, y_label: str, x_label: str = "",
    fmt: Fmt = tick, refs: Sequence[Reference] = (), width: int = 640, height: int = 300,
    whole: bool = False,
) -> str:
    """One line per series across the categories (a gap where a value is None), a dot per value."""
    tops = _values(series) + [r.value for r in refs]
    f = _start(categories, series, tops, x_label=x_label, fmt=fmt, width=width, height=height, whole=whole)
    colors = _colors(series)
    parts = [open_svg(f, title, _describe("Line chart", categories, series, y_label)),
             _legend(series, colors), y_axis(f, fmt, y_label)]
    parts += _references(f, refs)
    for j, s in enumerate(series):
        runs: list[list[str]] = [[]]
        dots = []
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
                continue
            x, w = f.band(i)
            cx, cy = x + w / 2, f.y(v)
            runs[-1].append(f"{cx:.1f},{cy:.1f}")
            dots.append(
                f'<circle class="point" data-series="{esc(s.name)}" data-category="{esc(categories[i])}" '
                f'cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colors[j]}">'
                f"<title>{esc(categories[i])} · {esc(s.name)}: {esc(fmt(v))}</title></circle>"
            )
        parts += [
            f'<polyline class="line" data-series="{esc(s.name)}" points="{" ".join(run)}" fill="none" '
            f'stroke="{colors[j]}" stroke-width="2.5"/>'
            for run in runs if len(run) > 1
        ]
        parts += dots
    if not _values(series):
        parts.append(no_data(f))
    parts += [x_axis(f, categories, x_label), "</svg>"]
    return "".join(parts)
