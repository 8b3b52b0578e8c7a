"""Numbers as people read them: money, shares, counts, days (shared by charts and templates)."""

from __future__ import annotations

DASH = "—"


def count(x: float | None) -> str:
    """1,234 (a dash for no value)."""
    return DASH if x is None else f"{x:,.0f}"


def money(x: float | None) -> str:
    """$12,345 (a dash for no value)."""
    return DASH if x is None else f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def money_short(x: float | None) -> str:
    """$950, $12k, $1.5M: for axis ticks."""
    if x is None:
        return DASH
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"${x / size:,.1f}".rstrip("0").rstrip(".") + suffix
    return f"${x:,.0f}"


def percent(x: float | None, digits: int = 1) -> str:
    """0.174 → 17.4 %."""
    return DASH if x is None else f"{x:.{digits}%}"


def percent_tick(x: float | None) -> str:
    """0.2 → 20 %: for axis ticks."""
    return DASH if x is None else f"{x * 100:,.4g}%"


def number(x: float | None, digits: int = 1) -> str:
    """1,234.5 (a dash for no value)."""
    return DASH if x is None else f"{x:,.{digits}f}"


def tick(x: float) -> str:
    """An axis tick: 1,500 or 2.5."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"


def ratio(x: float | None) -> str:
    """4.2 → 4.2 : 1."""
    return DASH if x is None else f"{x:,.1f} : 1"


def tick_count(x: float) -> str:
    """A count, or an average of counts: 12 or 8.9."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def month_name(month: str) -> str:
    """2026-03 → March 2026."""
    year, _, m = month.partition("-")
    names = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
    return f"{names[int(m) - 1]} {year}"
