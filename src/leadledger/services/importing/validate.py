"""Row checks as Polars expressions: each rejected row reports its first failing check."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from leadledger.services.importing import parse
from leadledger.services.importing.fields import FieldType
from leadledger.services.importing.mapping import ColumnPlan
from leadledger.services.importing.reader import LINE as LINE

REJECT_SCHEMA = {LINE: pl.Int64, "field": pl.String, "value": pl.String, "reason": pl.String}


@dataclass(frozen=True, slots=True)
class Check:
    """Rows where `bad` is true are rejected for `field`, with `reason`."""

    field: str
    bad: pl.Expr
    reason: pl.Expr | str


def raw(field: str) -> pl.Expr:
    """The field's text as it was in the file (after trimming)."""
    return pl.col(f"raw.{field}")


def quoted(field: str) -> pl.Expr:
    """The raw value in single quotes, for messages."""
    return pl.format("'{}'", raw(field))


def generic_checks(plan: ColumnPlan) -> list[Check]:
    """Unknown mapped values, missing required values, unparsable values and over-long text."""
    spec = plan.kind.spec
    checks: list[Check] = []
    for f in spec.fields:
        unknown = plan.unknown_value(f.name)
        if unknown is not None:
            known = ", ".join(plan.kind.values[f.name].known)
            checks.append(
                Check(f.name, unknown, pl.format(
                    "unknown {} value {} for mapping {} (known: {})",
                    pl.lit(f.name), quoted(f.name), pl.lit(plan.kind.mapping), pl.lit(known),
                ))
            )
        given = pl.col(f"in.{f.name}")
        if f.name in spec.required_values:
            checks.append(Check(f.name, given.is_null(), "missing required value"))
        if f.type in parse.REASONS:
            bad = given.is_not_null() & pl.col(f.name).is_null()
            checks.append(Check(f.name, bad, parse.REASONS[f.type]))
        if f.max_len and f.type not in (FieldType.DATETIME, FieldType.BOOL):
            too_long = pl.col(f.name).str.len_chars() > f.max_len
            checks.append(Check(f.name, too_long, f"longer than {f.max_len} characters"))
    return checks


def split(df: pl.DataFrame, checks: list[Check]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows passing every check, rejects as line/field/value/reason)."""
    if not checks or df.is_empty():
        return df, pl.DataFrame(schema=REJECT_SCHEMA)
    first: pl.Expr = pl.when(checks[0].bad).then(pl.lit(0))
    for i, c in enumerate(checks[1:], 1):
        first = first.when(c.bad).then(pl.lit(i))  # type: ignore[attr-defined]
    marked = df.with_columns(first.alias("__check"))
    bad = marked.filter(pl.col("__check").is_not_null())
    good = marked.filter(pl.col("__check").is_null()).drop("__check")
    if bad.is_empty():
        return good, pl.DataFrame(schema=REJECT_SCHEMA)
    idx = pl.col("__check")

    def pick(values: list[pl.Expr]) -> pl.Expr:
        expr: pl.Expr = pl.when(idx == 0).then(values[0])
        for i, v in enumerate(values[1:], 1):
            expr = expr.when(idx == i).then(v)  # type: ignore[attr-defined]
        return expr

    reasons = [c.reason if isinstance(c.reason, pl.Expr) else pl.lit(c.reason) for c in checks]
    rejects = bad.select(
        pl.col(LINE),
        pick([pl.lit(c.field) for c in checks]).alias("field"),
        pick([raw(c.field) for c in checks]).cast(pl.String).alias("value"),
        pick(reasons).cast(pl.String).alias("reason"),
    )
    return good, rejects


def reject_frame(lines: list[int], fields: str | list[str], values: list[str | None],
                 reasons: list[str]) -> pl.DataFrame:
    """Rejects found outside Polars (e.g. by a database lookup)."""
    if isinstance(fields, str):
        fields = [fields] * len(lines)
    return pl.DataFrame(
        {LINE: lines, "field": fields, "value": values, "reason": reasons}, schema=REJECT_SCHEMA
    )


def first_occurrence(df: pl.DataFrame, key: tuple[str, ...], seen: pl.DataFrame | None,
                     label: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Drop repeated natural keys (keeping the first line in the file); returns (kept, rejects, seen)."""
    firsts = df.group_by(list(key), maintain_order=True).agg(pl.col(LINE).min().alias("__first"))
    if seen is not None and not seen.is_empty():
        firsts = firsts.join(seen, on=list(key), how="left", nulls_equal=True).select(
            *key, pl.coalesce("__seen", "__first").alias("__first")
        )
    marked = df.join(firsts, on=list(key), how="left", nulls_equal=True, maintain_order="left")
    dup = pl.col("__first") != pl.col(LINE)
    kept = marked.filter(~dup).drop("__first")
    rejects = marked.filter(dup).select(
        pl.col(LINE),
        pl.lit(key[0]).alias("field"),
        raw(key[0]).alias("value"),
        pl.format("duplicate {} also on line {}", pl.lit(label), pl.col("__first")).alias("reason"),
    )
    new_seen = kept.select(*key, pl.col(LINE).alias("__seen"))
    seen = new_seen if seen is None else pl.concat([seen, new_seen])
    return kept, rejects, seen
