"""The monthly report in real headless Chromium (Debian's, driven by Playwright): it loads nothing from
the network, every chart renders, it prints to PDF, and the screenshot in docs/ is taken from it."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from leadledger.services.monthly_report import monthly_report
from leadledger.web.monthly import render_monthly_report
from tests.conftest import NOW

Opened = tuple[Any, list[str], list[str]]  # the page, requests blocked, console errors
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "monthly-report.png"
WIDTH = 1280
SECTIONS = ("headlines", "funnel", "trend", "time-in-stage", "sources", "economics", "forecast", "audit")


@pytest.fixture(scope="module")
def report_file(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """May 2026 of the demo, written as the CLI writes it."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_monthly_report(monthly_report(demo_engine, "2026-05", NOW)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def opened(browser: Any, report_file: Path) -> Iterator[Opened]:
    """The report open in a 1280 px wide page; requests other than file:// are blocked and recorded."""
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    outside: list[str] = []
    errors: list[str] = []

    def gate(route: Any) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", gate)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report_file.as_uri(), wait_until="load")
    yield page, outside, errors
    page.close()


def test_it_loads_nothing_but_itself(opened: Opened) -> None:
    page, outside, errors = opened
    assert outside == []
    assert errors == []  # no script errors, no blocked resource (the page's CSP would log one)
    assert page.evaluate("performance.getEntriesByType('resource').length") == 0


def test_the_heading_names_the_month_and_every_section_is_there(opened: Opened) -> None:
    page, _, _ = opened
    assert "May 2026" in page.inner_text("h1")
    for name in SECTIONS:
        assert page.locator(f"section#{name}").is_visible(), name


def test_every_chart_renders_with_a_size_and_its_axes(opened: Opened) -> None:
    page, _, _ = opened
    charts = page.locator("svg.chart")
    assert charts.count() == 7
    for i in range(charts.count()):
        chart = charts.nth(i)
        box = chart.bounding_box()
        name = chart.get_attribute("aria-label")
        assert box is not None and box["width"] > 200 and box["height"] > 150, name
        assert chart.locator("text.y-tick").count() >= 2 and chart.locator("text.y-label").count() == 1
        assert chart.locator("rect.bar, circle.point").count() > 0, name
        bar = chart.locator("rect.bar, circle.point").first.bounding_box()
        assert bar is not None and bar["width"] > 0 and bar["height"] > 0


def test_it_prints_to_pdf_one_section_per_page(opened: Opened) -> None:
    page, _, _ = opened
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages >= len(SECTIONS) - 1  # headlines share the first page; every other section starts one


def test_the_screenshot_in_docs(opened: Opened) -> None:
    """Full page, 1280 px wide: the picture the README shows."""
    page, _, _ = opened
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    head = SCREENSHOT.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width == WIDTH and height > 2000
