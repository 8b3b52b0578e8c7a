"""`import_csv`: stream a CSV in chunks, validate with Polars, upsert set-based in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine

from leadledger.errors import ImportFailed
from leadledger.services.importing import parse
from leadledger.services.importing.accounts import AccountLoader
from leadledger.services.importing.base import ChunkResult, Context, Loader
from leadledger.services.importing.contacts import ContactLoader
from leadledger.services.importing.events import EventLoader
from leadledger.services.importing.evidence import EvidenceLoader
from leadledger.services.importing.fields import FieldType
from leadledger.services.importing.mapping import ColumnPlan, load_mapping, plan_columns
from leadledger.services.importing.opportunities import OpportunityLoader
from leadledger.services.importing.reader import Batch, CsvSource
from leadledger.services.importing.rejects import RejectRow, RejectWriter, default_reject_path
from leadledger.services.importing.report import ImportReport
from leadledger.services.importing.validate import LINE, first_occurrence, generic_checks, split
from leadledger.store.db import to_db
from leadledger.store.policies import load_active_policy

LOADERS: dict[str, type[Loader]] = {
    loader.kind: loader
    for loader in (AccountLoader, ContactLoader, EventLoader, OpportunityLoader, EvidenceLoader)
}
KEY_LABELS = {"evidence": "evidence (email, field, confirmed_at)"}
CHUNK_ROWS = 100_000

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class _Totals:
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)

    def add(self, r: ChunkResult) -> None:
        self.inserted += r.inserted
        self.updated += r.updated
        self.unchanged += r.unchanged
        self.duplicates += r.duplicates


def import_csv(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    mapping: str | Path | None = None,
    now: datetime,
    encoding: str | None = None,
    progress: Progress | None = None,
    reject_path: Path | None = None,
) -> ImportReport:
    """Import one CSV file of `kind` in one transaction; bad rows go to a reject file, not an error."""
    if kind not in LOADERS:
        raise ImportFailed(f"unknown import kind {kind!r} (kinds: {', '.join(LOADERS)})")
    path = Path(path)
    kind_mapping = load_mapping(mapping, kind)
    source = CsvSource(path, encoding, CHUNK_ROWS)
    try:
        plan = plan_columns(kind_mapping, source.header, path)
        writer = RejectWriter(reject_path or default_reject_path(path), source.header)
        try:
            with engine.begin() as conn:
                totals = _run(conn, plan, source, writer, to_db(now) or now, progress)
        except BaseException:
            writer.abort()
            raise
    finally:
        source.close()
    reject_file = writer.commit(remove_stale=reject_path is None)
    return ImportReport(
        kind=kind, file=path, rows_read=totals.rows_read, inserted=totals.inserted,
        updated=totals.updated, unchanged=totals.unchanged, rejected=writer.count,
        duplicates=totals.duplicates, reject_file=reject_file, warnings=tuple(totals.warnings),
    )


def _run(conn: Connection, plan: ColumnPlan, source: CsvSource, writer: RejectWriter,
         now: datetime, progress: Progress | None) -> _Totals:
    ctx = Context(conn=conn, policy=load_active_policy(conn), now=now,
                  file_name=source.path.name, plan=plan)
    loader = LOADERS[plan.kind.spec.name](ctx)
    spec = plan.kind.spec
    totals = _Totals()
    seen: pl.DataFrame | None = None
    for batch in source.batches():
        raw = _frame(batch, len(source.header))
        totals.rows_read += raw.height + len(batch.rejects)
        parsed = _parse(raw, plan)
        good, rejects = split(parsed, generic_checks(plan) + loader.checks(parsed))
        if spec.name != "events":  # events count repeats as duplicates instead of rejecting them
            label = KEY_LABELS.get(spec.name, spec.key[0])
            good, repeated, seen = first_occurrence(good, spec.key, seen, label)
            rejects = pl.concat([rejects, repeated])
        result = ChunkResult()
        if not good.is_empty():
            result = loader.load(_for_storage(loader.derive(good), plan))
        totals.add(result)
        rejects = pl.concat([rejects, result.rejects])
        writer.write(_reject_rows(rejects, raw, plan, batch))
        if progress is not None:
            progress(batch.bytes_done, source.total_bytes)
    loader.finish()
    totals.warnings = _warnings(plan, source) + loader.warnings
    return totals


def _frame(batch: Batch, ncols: int) -> pl.DataFrame:
    """The batch as text columns c0…cN plus the line number; all-blank rows are dropped."""
    names = [f"c{i}" for i in range(ncols)]
    schema = {LINE: pl.Int64, **dict.fromkeys(names, pl.String)}
    columns = list(zip(*batch.rows, strict=True)) if batch.rows else [() for _ in names]
    df = pl.DataFrame([batch.lines, *columns], schema=schema, orient="col")
    blank = pl.all_horizontal([pl.col(c).str.strip_chars() == "" for c in names])
    return df.filter(~blank)


def _parse(raw: pl.DataFrame, plan: ColumnPlan) -> pl.DataFrame:
    """`raw.<field>` text and the parsed `<field>` value for every field of the kind."""
    parsed = [parse.parse(f, plan.mapped(f.name)).alias(f.name) for f in plan.kind.spec.fields]
    return raw.lazy().select(pl.col(LINE), *plan.raw_columns()).with_columns(parsed).collect()


def _for_storage(df: pl.DataFrame, plan: ColumnPlan) -> pl.DataFrame:
    """Datetimes as the text the bulk path stores."""
    return df.with_columns(
        parse.storage_text(pl.col(f.name)) for f in plan.kind.spec.fields
        if f.type is FieldType.DATETIME
    )


def _reject_rows(rejects: pl.DataFrame, raw: pl.DataFrame, plan: ColumnPlan,
                 batch: Batch) -> Iterator[RejectRow]:
    rows: list[RejectRow] = [(r.line, r.column, r.value, r.reason, r.fields) for r in batch.rejects]
    if not rejects.is_empty():
        joined = rejects.join(raw, on=LINE, how="left")
        for line, fld, value, reason, *fields in joined.iter_rows():
            rows.append((line, plan.labels.get(fld, fld), value or "", reason,
                         [f or "" for f in fields]))
    return iter(sorted(rows, key=lambda r: r[0]))


def _warnings(plan: ColumnPlan, source: CsvSource) -> list[str]:
    out = []
    if plan.ignored:
        out.append(f"columns not used by mapping {plan.kind.mapping}: {', '.join(plan.ignored)}")
    if plan.duplicated:
        out.append(f"repeated column names (the first one is used): {', '.join(plan.duplicated)}")
    if source.undecodable and not source.explicit_encoding:
        out.append(
            f"{source.undecodable} lines are not valid UTF-8 and were rejected: if the file was "
            "saved by Excel or an older system, import it again with --encoding latin-1 (or cp1252)"
        )
    elif source.undecodable:
        out.append(f"{source.undecodable} lines could not be decoded as {source.explicit_encoding}")
    return out
