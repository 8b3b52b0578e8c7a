"""A small synthetic leads CSV with a known signal, and its training mapping."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

MAPPING = """\
name: synthetic
outcome:
  column: Won
  positive: [yes]
  negative: [no]
order: Created
missing: [Select]
features:
  Source: categorical
  Visits: numeric
  Opted Out: boolean
  Region: categorical
leaky:
  Sales Note: categorical
"""

HEADER = ["Lead", "Created", "Source", "Visits", "Opted Out", "Region", "Sales Note", "Won"]
SOURCE_PUSH = {"referral": 1.6, "webinar": 0.6, "ads": -0.8, "Select": 0.0}


def leads(n: int, seed: int = 7) -> list[list[str]]:
    """Rows whose outcome follows source, visits and opting out (region is noise)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        source = rng.choice(list(SOURCE_PUSH))
        visits = rng.choice(["", str(rng.randint(0, 30))])
        opted_out = rng.random() < 0.15
        logit = -0.9 + SOURCE_PUSH[source] + 0.12 * (int(visits) if visits else 4) - 2.0 * opted_out - 0.6
        won = rng.random() < 1 / (1 + math.exp(-logit))
        note = "closed - won" if won else rng.choice(["no answer", "lost to competitor"])
        rows.append([f"L{i}", str(1000 + i), source, visits, "Yes" if opted_out else "No",
                     rng.choice(["north", "south", "east"]), note, "yes" if won else "no"])
    return rows


def write_leads(folder: Path, n: int = 600, seed: int = 7) -> tuple[Path, Path]:
    """(leads.csv, mapping.yaml) in `folder`."""
    data, mapping = folder / "leads.csv", folder / "mapping.yaml"
    with data.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(leads(n, seed))
    mapping.write_text(MAPPING, encoding="utf-8")
    return data, mapping
