"""The SVG charts: numbers small enough to check by hand, well-formed XML, escaped text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from leadledger.web import format as fmt
from leadledger.web.charts import Reference, Series, bar_chart, line_chart, stacked_bars
from leadledger.web.svg import nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """The chart as an XML tree (fails if the SVG is not well-formed)."""
    return ET.fromstring(svg)


def texts(svg: str, cls: str) -> list[str]:
    """The text of every <text> element of class `cls`, in document order."""
    return [t.text or "" for t in parse(svg).iter(f"{SVG}text")
            if cls in (t.get("class") or "").split()]


def bars(svg: str) -> list[ET.Element]:
    return [r for r in parse(svg).iter(f"{SVG}rect") if r.get("class") == "bar"]


def test_nice_ticks_are_round_and_cover_the_top() -> None:
    assert nice_ticks(87) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0.45) == [0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert nice_ticks(12_500) == [0, 2_500, 5_000, 7_500, 10_000, 12_500]
    assert nice_ticks(3, whole=True) == [0, 1, 2, 3]  # counts: no half contacts
    assert nice_ticks(0) == [0, 1]  # an empty chart still has an axis


def test_bar_chart_draws_one_bar_per_value_with_axes_units_and_title() -> None:
    svg = bar_chart(
        "Leads by stage",
        ["Lead", "MQL", "SQL"],
        [Series("March", [87, 40, 12]), Series("average", [60, None, 10])],
        y_label="Contacts", x_label="Stage",
    )
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Leads by stage"
    assert len(bars(svg)) == 5  # 3 + 2: None draws nothing
    assert texts(svg, "y-tick") == ["0", "20", "40", "60", "80", "100"]  # 87 → ticks up to 100
    assert texts(svg, "x-tick") == ["Lead", "MQL", "SQL"]
    assert texts(svg, "y-label") == ["Contacts"] and texts(svg, "x-label") == ["Stage"]
    assert texts(svg, "chart-title") == ["Leads by stage"]
    assert texts(svg, "value") == ["87", "60", "40", "12", "10"]
    legend = [t.text for t in root.iter(f"{SVG}text") if t.text in ("March", "average")]
    assert legend == ["March", "average"]  # two series: a legend


def test_bar_heights_are_proportional_to_the_values() -> None:
    svg = bar_chart("t", ["a", "b"], [Series("s", [50, 100])], y_label="Contacts")
    short, tall = (float(b.get("height") or 0) for b in bars(svg))
    assert tall == pytest.approx(2 * short, abs=0.2)  # 0 at the axis: heights scale with the value


def test_text_is_escaped() -> None:
    evil = '<script>alert("x")</script> & co'
    svg = bar_chart(evil, [evil], [Series(evil, [1])], y_label=evil, x_label=evil)
    assert "<script>" not in svg
    parse(svg)  # still well-formed
    assert texts(svg, "chart-title") == [evil]  # and reads back as the original text
    assert bars(svg)[0].get("data-category") == evil


def test_reference_line_is_drawn_labelled_and_inside_the_axis() -> None:
    svg = bar_chart("CLV vs CAC", ["CAC", "CLV"], [Series("per account", [10_000, 50_000])],
                    y_label="US dollars", fmt=fmt.money_short, refs=[Reference(30_000, "3:1 line")])
    assert "3:1 line" in svg
    ticks = texts(svg, "y-tick")
    assert ticks[0] == "$0" and ticks[-1] == "$50k"
    svg = bar_chart("t", ["a"], [Series("s", [1])], y_label="x", refs=[Reference(7, "target")])
    assert texts(svg, "y-tick")[-1] == "8"  # the axis grows to show the reference


def test_stacked_bars_sum_per_category() -> None:
    svg = stacked_bars("Forecast", ["2026-06", "2026-07"],
                       [Series("commit", [1_000, 3_000]), Series("best case", [500, None])],
                       y_label="Weighted amount (US dollars)", fmt=fmt.money_short)
    assert len(bars(svg)) == 3
    assert texts(svg, "value") == ["$1.5k", "$3k"]  # totals on top
    first = [float(b.get("height") or 0) for b in bars(svg) if b.get("data-category") == "2026-06"]
    second = [float(b.get("height") or 0) for b in bars(svg) if b.get("data-category") == "2026-07"]
    assert sum(first) == pytest.approx(sum(second) / 2, abs=0.2)


def test_line_chart_breaks_at_missing_values() -> None:
    svg = line_chart("Conversion", ["m1", "m2", "m3", "m4", "m5"],
                     [Series("lead → prospect", [0.1, 0.2, None, 0.15, 0.25])],
                     y_label="Converted (%)", fmt=fmt.percent_tick, refs=[Reference(0.2, "benchmark 20%")])
    root = parse(svg)
    lines = list(root.iter(f"{SVG}polyline"))
    assert [len((p.get("points") or "").split()) for p in lines] == [2, 2]
    assert len(list(root.iter(f"{SVG}circle"))) == 4
    assert texts(svg, "y-tick") == ["0%", "5%", "10%", "15%", "20%", "25%"]


def test_an_empty_chart_says_so() -> None:
    svg = bar_chart("Nothing yet", ["a", "b"], [Series("s", [None, None])], y_label="Contacts")
    assert bars(svg) == [] and texts(svg, "no-data") == ["No data for this period"]
    assert texts(svg, "y-tick") == ["0", "1"]


def test_long_category_labels_are_angled_and_the_picture_grows() -> None:
    short = bar_chart("t", ["a", "b"], [Series("s", [1, 2])], y_label="x", width=300)
    long = bar_chart("t", ["a very long stage name", "another long one"], [Series("s", [1, 2])],
                     y_label="x", width=300)
    assert "rotate(-35)" in long and "rotate(-35)" not in short.replace("rotate(-90)", "")
    height = re.compile(r'height="(\d+)"')
    assert int(height.findall(long)[0]) > int(height.findall(short)[0])


def test_series_must_match_the_categories() -> None:
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        bar_chart("t", ["a", "b", "c"], [Series("s", [1, 2])], y_label="x")


def test_formats() -> None:
    assert fmt.money(1234) == "$1,234" and fmt.money(None) == "—" and fmt.money(-50) == "-$50"
    assert fmt.money_short(1_500_000) == "$1.5M" and fmt.money_short(950) == "$950"
    assert fmt.money_short(12_000) == "$12k"
    assert fmt.percent(0.174) == "17.4%" and fmt.percent(None) == "—"
    assert fmt.percent_tick(0.2) == "20%" and fmt.ratio(4.25) == "4.2 : 1"
    assert fmt.month_name("2026-03") == "March 2026"
