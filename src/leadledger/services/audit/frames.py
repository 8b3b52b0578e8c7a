"""Reading export files with Polars: text columns by normalized header, dates, numbers, value maps."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
from ruamel.yaml import YAML

from leadledger.errors import LeadledgerError

DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%d", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y",
)
TRUE = frozenset({"true", "yes", "1", "y", "t"})


def header_key(name: str) -> str:
    """Headers match ignoring case, a BOM and repeated spaces ("Deal stage" = "Deal Stage")."""
    return re.sub(r"\s+", " ", name.strip().lstrip("\ufeff")).casefold()


def value_key(value: str) -> str:
    """Picklist values match ignoring case, spaces and punctuation ("Closed Won" = "closedwon")."""
    return re.sub(r"[^\w]|_", "", value.lower())


@dataclass(frozen=True, slots=True)
class Row:
    """One row of an export, read by field name rather than by the file's column names."""

    values: dict[str, Any]
    columns: Mapping[str, str | None]  # field → the file's column (None when absent)

    def get(self, field: str) -> str | None:
        """The field's text, None when empty or when the file has no such column."""
        col = self.columns.get(field)
        return self.values[col] if col else None


@dataclass(frozen=True, slots=True)
class Frame:
    """One export file: its rows as text, reachable by any of a field's possible column names."""

    path: Path
    df: pl.DataFrame
    columns: dict[str, str]  # header_key → actual column name

    def has(self, *names: str) -> bool:
        """Whether any of these columns is in the file."""
        return any(header_key(n) in self.columns for n in names)

    def col(self, *names: str) -> str | None:
        """The first of these columns present in the file."""
        return next((self.columns[header_key(n)] for n in names if header_key(n) in self.columns), None)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Rows as dicts of column → stripped text (None when empty)."""
        yield from self.df.iter_rows(named=True)

    def records(self, fields: Mapping[str, Sequence[str]] | None = None) -> Iterator[Row]:
        """Rows read by field: each field is the first of its column names the file has.

        Without `fields`, a field is the column of that (normalized) name.
        """
        columns = (
            {k: self.col(*names) for k, names in fields.items()} if fields is not None
            else dict(self.columns)
        )
        for values in self.rows():
            yield Row(values, columns)

    @property
    def header(self) -> set[str]:
        """Normalized header names."""
        return set(self.columns)


def read_frame(path: Path) -> Frame:
    """Read a CSV export as text columns (nothing inferred), empty cells as None."""
    try:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise LeadledgerError(f"cannot read {path}: {exc}") from exc
    df = df.with_columns(
        pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c).str.strip_chars()).alias(c)
        for c in df.columns
    )
    return Frame(path=path, df=df, columns={header_key(c): c for c in df.columns})


def parse_dates(frame: Frame, *names: str) -> dict[int, datetime | None]:
    """Row index → the first of these columns parsed as a date (UTC), for every row."""
    col = frame.col(*names)
    if col is None:
        return {}
    s = frame.df[col]
    parsed = pl.select(
        pl.coalesce([pl.lit(s).str.strptime(pl.Datetime("us"), f, strict=False) for f in DATE_FORMATS])
    ).to_series()
    return {i: (v.replace(tzinfo=UTC) if v is not None else None) for i, v in enumerate(parsed.to_list())}


def number(text: str | None) -> float | None:
    """'$1,200.50' → 1200.5; unparseable → None."""
    if text is None:
        return None
    cleaned = re.sub(r"[^\d.\-]", "", text)
    try:
        return float(cleaned) if cleaned else None
    except ValueError:
        return None


def flag(text: str | None) -> bool | None:
    """'true'/'false' (and yes/no, 1/0) → bool; empty → None."""
    return None if text is None else text.strip().lower() in TRUE


def company_key(name: str | None) -> str | None:
    """Accounts are matched across files by company name, ignoring case and punctuation."""
    if not name:
        return None
    key = re.sub(r"[^\w]+", " ", name.casefold()).strip()
    return key or None


@cache
def value_maps(mapping: str, kind: str) -> dict[str, dict[str, str]]:
    """The `values` tables of a shipped import mapping, keyed the way `value_key` normalizes."""
    text = resources.files("leadledger.mappings").joinpath(f"{mapping}.yaml").read_text("utf-8")
    raw: Any = YAML(typ="safe").load(text)
    section = (raw or {}).get(kind) or {}
    return {
        field: {value_key(str(k)): str(v) for k, v in table.items() if v is not None}
        for field, table in (section.get("values") or {}).items()
    }


def detect(frames: Sequence[Frame], kinds: Mapping[str, tuple[str, ...]]) -> dict[str, Frame]:
    """Tell each file's kind by its header: the first kind whose marker columns it has."""
    found: dict[str, Frame] = {}
    for f in frames:
        kind = next((k for k, marks in kinds.items() if any(header_key(m) in f.header for m in marks)), None)
        if kind is None:
            wanted = "; ".join(f"{k}: {' or '.join(repr(m) for m in ms)}" for k, ms in kinds.items())
            raise LeadledgerError(f"cannot tell what {f.path} holds from its header (looked for {wanted})")
        if kind in found:
            raise LeadledgerError(f"{found[kind].path} and {f.path} both look like {kind} exports")
        found[kind] = f
    return found
