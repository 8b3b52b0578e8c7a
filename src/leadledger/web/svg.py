"""SVG building blocks for the charts: escaping, round axis ticks, the plot frame, axes, legend."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FONT = 11  # px, tick labels
CHAR_WIDTH = 0.56 # average glyph width per px of font size (DejaVu Sans / Helvetica-like)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7F7F7F")  # Okabe–Ito
INK, GRID, MUTED = "#1f2328", "#d8dee4", "#57606a"
ROTATE = 35  # degrees, for x labels too long for their band

Fmt = Callable[[float], str]


def esc(text: object) -> str:
    """Text safe inside an SVG/HTML element or a quoted attribute."""
    return html.escape(str(text), quote=True)


def text_width(text: str, size: float = FONT) -> float:
    """Estimated rendered width of `text` in px."""
    return len(text) * size * CHAR_WIDTH


def nice_ticks(top: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round ticks from 0 up to at least `top`, about `count` steps: nice_ticks(87) → 0, 20, … 100.

    `whole`: steps of at least 1 (for counts).
    """
    if not top > 0 or math.isinf(top):
        return [0.0, 1.0]
    raw = max(top / count, 1.0) if whole else top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    steps = max(1, math.ceil(top / step - 1e-9))
    return [round(i * step, 12) for i in range(steps + 1)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """Where the plot area sits in the picture, and the y scale (0 at the bottom)."""

    width: int
    height: int
    left: float
    top: float
    bottom: float  # px below the plot area
    ticks: tuple[float, ...]
    bands: int  # categories along x
    rotated: bool  # x labels at an angle

    @property
    def plot_width(self) -> float:
        """Width of the plot area."""
        return self.width - self.left - 16

    @property
    def base(self) -> float:
        """y of the x axis (value 0)."""
        return self.height - self.bottom

    def y(self, value: float) -> float:
        """y of a value."""
        top = self.ticks[-1] or 1.0
        return self.base - (self.base - self.top) * max(0.0, value) / top

    def band(self, i: int) -> tuple[float, float]:
        """(x, width) of the i-th category band."""
        w = self.plot_width / max(1, self.bands)
        return self.left + i * w, w


def frame(
    *, width: int, height: int, values: Sequence[float], categories: Sequence[str], fmt: Fmt,
    legend: bool, x_label: bool, whole: bool = False,
) -> Frame:
    """A frame whose margins fit the tick labels, the legend and the axis titles."""
    ticks = tuple(nice_ticks(max(values, default=0.0), whole=whole))
    left = 34 + max(text_width(fmt(t)) for t in ticks)
    band = (width - left - 16) / max(1, len(categories))
    longest = max((text_width(c) for c in categories), default=0.0)
    rotated = longest > band - 4
    drop = longest * math.sin(math.radians(ROTATE)) + 8 if rotated else 0.0
    bottom = 24 + drop + (18 if x_label else 0)
    return Frame(width=width, height=round(height + drop), left=left, top=58 if legend else 40,
                 bottom=bottom, ticks=ticks, bands=len(categories), rotated=rotated)


def open_svg(f: Frame, title: str, description: str) -> str:
    """The <svg> start tag, its accessible title and description, and the visible title."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{esc(title)}" '
        f'viewBox="0 0 {f.width} {f.height}" width="{f.width}" height="{f.height}" '
        f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="{FONT}">'
        f"<title>{esc(title)}</title><desc>{esc(description)}</desc>"
        f'<text class="chart-title" x="0" y="16" font-size="14" font-weight="bold" fill="{INK}">'
        f"{esc(title)}</text>"
    )


def y_axis(f: Frame, fmt: Fmt, label: str) -> str:
    """Grid lines, tick labels, the axis line and the rotated axis title (with its unit)."""
    parts = []
    right = f.left + f.plot_width
    for t in f.ticks:
        y = f.y(t)
        parts.append(f'<line x1="{f.left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text class="tick y-tick" x="{f.left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{MUTED}">{esc(fmt(t))}</text>'
        )
    mid = (f.top + f.base) / 2
    parts.append(
        f'<text class="axis-label y-label" transform="translate(12 {mid:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="{INK}">{esc(label)}</text>'
    )
    parts.append(
        f'<line x1="{f.left:.1f}" y1="{f.top:.1f}" x2="{f.left:.1f}" y2="{f.base:.1f}" stroke="{INK}"/>'
    )
    return "".join(parts)


def x_axis(f: Frame, categories: Sequence[str], label: str) -> str:
    """The axis line, one label per category band (at an angle when they would overlap), the title."""
    right = f.left + f.plot_width
    parts = [f'<line x1="{f.left:.1f}" y1="{f.base:.1f}" x2="{right:.1f}" y2="{f.base:.1f}" stroke="{INK}"/>']
    for i, c in enumerate(categories):
        x, w = f.band(i)
        cx, y = x + w / 2, f.base + 16
        if f.rotated:
            parts.append(
                f'<text class="tick x-tick" transform="translate({cx:.1f} {y - 4:.1f}) rotate(-{ROTATE})" '
                f'text-anchor="end" fill="{MUTED}">{esc(c)}</text>'
            )
        else:
            parts.append(
                f'<text class="tick x-tick" x="{cx:.1f}" y="{y:.1f}" text-anchor="middle" '
                f'fill="{MUTED}">{esc(c)}</text>'
            )
    if label:
        parts.append(
            f'<text class="axis-label x-label" x="{f.left + f.plot_width / 2:.1f}" y="{f.height - 4:.1f}" '
            f'text-anchor="middle" fill="{INK}">{esc(label)}</text>'
        )
    return "".join(parts)


def legend(items: Sequence[tuple[str, str, bool]]) -> str:
    """A row of swatches under the title: (name, colour, dashed line instead of a box)."""
    parts, x = ['<g class="legend">'], 0.0
    for name, color, dashed in items:
        if dashed:
            parts.append(f'<line x1="{x:.1f}" y1="36" x2="{x + 14:.1f}" y2="36" stroke="{color}" '
                         'stroke-width="2" stroke-dasharray="4 3"/>')
        else:
            parts.append(f'<rect x="{x:.1f}" y="30" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 18:.1f}" y="40" fill="{INK}">{esc(name)}</text>')
        x += 30 + text_width(name)
    parts.append("</g>")
    return "".join(parts)


def reference(f: Frame, value: float, label: str, *, color: str = INK, label_below: bool = False) -> str:
    """A dashed horizontal line at `value`, labelled at its right end (above it, or below)."""
    y, right = f.y(value), f.left + f.plot_width
    ty = y + 14 if label_below else y - 5
    return (
        f'<g class="ref"><line x1="{f.left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{color}" '
        f'stroke-width="1.5" stroke-dasharray="6 4"/>'
        f'<text x="{right:.1f}" y="{ty:.1f}" text-anchor="end" font-weight="bold" fill="{INK}" '
        'stroke="#ffffff" stroke-width="3" paint-order="stroke">'
        f"{esc(label)}</text></g>"
    )


def no_data(f: Frame, message: str = "No data for this period") -> str:
    """A note in the middle of an empty plot."""
    return (
        f'<text class="no-data" x="{f.left + f.plot_width / 2:.1f}" y="{(f.top + f.base) / 2:.1f}" '
        f'text-anchor="middle" fill="{MUTED}">{esc(message)}</text>'
    )
