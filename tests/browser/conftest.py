"""The one headless browser for tests/browser: Debian's Chromium driven by Playwright.

Playwright never downloads a browser here. Without Chromium or Playwright the tests skip on a
developer's machine and fail under CI (CI=true), where they must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (shared by every browser test of the run)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: run scripts/chromium.sh (Debian's chromium package)")
    try:
        from playwright import sync_api
    except ImportError:  # pragma: no cover - a dev dependency
        _unavailable("playwright is missing: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()
