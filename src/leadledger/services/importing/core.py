"""`import_csv`: stream a CSV in chunks, validate with Polars, upsert set-based in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine

from leadledger.errors import ImportFailed
from leadledger.services.importing.accounts import AccountLoader
from leadledger.services.importing.background import prefetch
from leadledger.services.importing.base import ChunkResult, Context, Loader
from leadledger.services.importing.contacts import ContactLoader
from leadledger.services.importing.events import EventLoader
from leadledger.services.importing.evidence import EvidenceLoader
from leadledger.services.importing.mapping import ColumnPlan, load_mapping, plan_columns
from leadledger.services.importing.opportunities import OpportunityLoader
from leadledger.services.importing.prepare import prepare_chunks
from leadledger.services.importing.reader import CsvSource, RawReject
from leadledger.services.importing.rejects import RejectRow, RejectWriter, default_reject_path
from leadledger.services.importing.report import ImportReport
from leadledger.services.importing.spend import SpendLoader
from leadledger.services.importing.validate import LINE
from leadledger.store.db import to_db, without_foreign_key_checks
from leadledger.store.policies import load_active_policy

LOADERS: dict[str, type[Loader]] = {
    loader.kind: loader
    for loader in (AccountLoader, ContactLoader, EventLoader, OpportunityLoader, EvidenceLoader, SpendLoader)
}
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
            # Every reference (email, domain) is resolved by the loaders, which reject unknown
            # ones as rows, so SQLite's per-row foreign-key probe would only re-check them.
            with engine.connect() as conn, without_foreign_key_checks(conn), conn.begin():
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
                  file_name=source.path.name, plan=plan, size_bytes=source.total_bytes)
    loader = LOADERS[plan.kind.spec.name](ctx)
    totals = _Totals()
    with closing(prefetch(prepare_chunks(source, plan, loader))) as chunks:
        for chunk in chunks:
            totals.rows_read += chunk.rows_read
            result = loader.load(chunk.good) if not chunk.good.is_empty() else ChunkResult()
            totals.add(result)
            rejects = pl.concat([chunk.rejects, result.rejects])
            writer.write(_reject_rows(rejects, chunk.raw, plan, chunk.read_rejects))
            if progress is not None:
                progress(chunk.bytes_done, source.total_bytes)
    loader.finish()
    totals.warnings = _warnings(plan, source) + loader.warnings
    return totals


def _reject_rows(rejects: pl.DataFrame, raw: pl.DataFrame, plan: ColumnPlan,
                 read_rejects: list[RawReject]) -> Iterator[RejectRow]:
    rows: list[RejectRow] = [(r.line, r.column, r.value, r.reason, r.fields) for r in read_rejects]
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
