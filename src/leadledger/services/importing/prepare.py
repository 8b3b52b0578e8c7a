"""The CPU side of an import: read, parse, check and de-duplicate chunks (no database access)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from leadledger.services.importing import parse
from leadledger.services.importing.base import Loader
from leadledger.services.importing.fields import FieldType
from leadledger.services.importing.mapping import ColumnPlan
from leadledger.services.importing.reader import CsvSource, RawReject
from leadledger.services.importing.validate import LINE, first_occurrence, generic_checks, split

KEY_LABELS = {"evidence": "evidence (email, field, confirmed_at)"}


@dataclass(frozen=True, slots=True)
class Prepared:
    """One chunk ready to load: valid rows (storage form), rejects so far, and the raw text."""

    raw: pl.DataFrame
    good: pl.DataFrame
    rejects: pl.DataFrame
    read_rejects: list[RawReject]
    rows_read: int
    bytes_done: int


def prepare_chunks(source: CsvSource, plan: ColumnPlan, loader: Loader) -> Iterator[Prepared]:
    """Chunks of the file, validated and de-duplicated by natural key across the whole file."""
    seen: pl.DataFrame | None = None
    for batch in source.batches():
        raw = _drop_blank(batch.frame)
        good, rejects, seen = prepare_frame(raw, plan, loader, seen)
        yield Prepared(raw, good, rejects, batch.rejects, raw.height + len(batch.rejects),
                       batch.bytes_done)


def prepare_frame(raw: pl.DataFrame, plan: ColumnPlan, loader: Loader, seen: pl.DataFrame | None = None
                  ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """Parse, check and de-duplicate one frame of text rows: (good, rejects, keys seen so far).

    The CSV import and the API's JSON records both go through here, so both apply the same rules.
    """
    spec = plan.kind.spec
    parsed = _parse(raw, plan)
    good, rejects = split(parsed, generic_checks(plan) + loader.checks(parsed))
    if spec.name != "events":  # events count repeats as duplicates instead of rejecting them
        label = KEY_LABELS.get(spec.name, spec.key[0])
        good, repeated, seen = first_occurrence(good, spec.key, seen, label)
        rejects = pl.concat([rejects, repeated])
    if not good.is_empty():
        good = _for_storage(loader.derive(good), plan)
    return good, rejects, seen


def _drop_blank(df: pl.DataFrame) -> pl.DataFrame:
    """Rows whose every field is blank (e.g. Excel's trailing ',,,,') are not rows."""
    blank = pl.all_horizontal([pl.col(c).str.strip_chars() == "" for c in df.columns if c != LINE])
    return df.filter(~blank)


def _parse(raw: pl.DataFrame, plan: ColumnPlan) -> pl.DataFrame:
    """Per field: `raw.<f>` (file text), `in.<f>` (after the value map) and the parsed `<f>`."""
    fields = plan.kind.spec.fields
    base = raw.lazy().select(pl.col(LINE), *plan.raw_columns()).with_columns(
        plan.mapped(f.name).alias(f"in.{f.name}") for f in fields
    ).collect()
    return base.with_columns(
        parse.parse_series(f, base[f"in.{f.name}"]).alias(f.name) for f in fields
    )


def _for_storage(df: pl.DataFrame, plan: ColumnPlan) -> pl.DataFrame:
    """Datetimes as the text the bulk path stores."""
    return df.with_columns(
        parse.storage_text(pl.col(f.name)) for f in plan.kind.spec.fields
        if f.type is FieldType.DATETIME
    )
