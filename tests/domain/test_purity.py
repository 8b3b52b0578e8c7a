"""The domain reads no clock and no randomness (imports are checked by import-linter)."""

from __future__ import annotations

import re
from pathlib import Path

import leadledger.domain

FORBIDDEN = re.compile(
    r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time|random\.|os\.environ|open\()"
)


def test_domain_has_no_clock_randomness_or_io() -> None:
    root = Path(leadledger.domain.__file__).parent
    offenders = [
        f"{p.name}:{n}: {line.strip()}"
        for p in sorted(root.rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == []
