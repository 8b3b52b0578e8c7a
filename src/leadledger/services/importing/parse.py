"""Vectorised text → value parsers (Polars expressions); an unparsable value becomes null."""

from __future__ import annotations

import polars as pl

from leadledger.services.importing.fields import FieldSpec, FieldType

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TLD = r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])"
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_RE = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_TLD}$"
DOMAIN_RE = rf"^(?:{_LABEL}\.)+{_TLD}$"

# ISO 8601 (also HubSpot's "2025-03-14 09:12"), with an optional Z / UTC / ±HH[:MM] offset.
_ISO = (
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)
# US style, month first (Salesforce en_US): 3/14/2025, 3/14/2025 9:12 AM, 3/14/25, 9:12:05 PM.
_US = r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)?)?$"

TRUE_WORDS = ("true", "t", "yes", "y", "1", "x", "on")
FALSE_WORDS = ("false", "f", "no", "n", "0", "off")
MAX_INT = 2**31 - 1

REASONS: dict[FieldType, str] = {
    FieldType.EMAIL: "not a valid email address",
    FieldType.DOMAIN: "not a valid domain name",
    FieldType.COUNT: "not a whole number ≥ 0",
    FieldType.NUMBER: "not a number",
    FieldType.DATETIME: (
        "not a date (expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] with optional Z or ±HH:MM, "
        "or month-first M/D/YYYY [H:MM AM])"
    ),
    FieldType.BOOL: f"not a yes/no value (use one of {', '.join(TRUE_WORDS + FALSE_WORDS)})",
    FieldType.JSON: "not a JSON object",
}


def token(s: pl.Expr) -> pl.Expr:
    """Lower-case identifier form: 'Economic Buyer' → 'economic_buyer'."""
    return s.str.to_lowercase().str.replace_all(r"[\s\-/]+", "_")


def lookup_key(s: pl.Expr) -> pl.Expr:
    """Case-, space- and punctuation-insensitive form used to look values up in mapping tables."""
    return s.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", "")


def email(s: pl.Expr) -> pl.Expr:
    """Lower-cased address if it is syntactically valid (no DNS lookups)."""
    e = s.str.to_lowercase().str.strip_prefix("mailto:")
    return pl.when(e.str.contains(EMAIL_RE)).then(e)


def domain(s: pl.Expr) -> pl.Expr:
    """A bare domain: scheme, 'www.', port and path are dropped ('https://www.Acme.com/x' → 'acme.com')."""
    d = (
        s.str.to_lowercase()
        .str.replace(r"^[a-z][a-z0-9+.-]*://", "")
        .str.replace(r"^www\.", "")
        .str.replace(r"[/?#:].*$", "")
        .str.strip_chars_end(".")
    )
    return pl.when(d.str.contains(DOMAIN_RE)).then(d)


def email_domain(e: pl.Expr) -> pl.Expr:
    """The part of a (valid) address after the '@'."""
    return e.str.extract(r"@(.+)$", 1)


def count(s: pl.Expr) -> pl.Expr:
    """A whole number ≥ 0; thousands separators and a '.0' suffix are accepted."""
    f = s.str.replace_all(r"[,_\s]", "").cast(pl.Float64, strict=False)
    ok = f.is_finite() & (f == f.floor()) & (f >= 0) & (f <= MAX_INT)
    return pl.when(ok).then(f.cast(pl.Int64, strict=False))


def number(s: pl.Expr) -> pl.Expr:
    """A finite number; currency symbols, ISO currency codes and thousands separators are dropped."""
    cleaned = s.str.replace_all(r"(?i)^[a-z]{3}\s+|\s+[a-z]{3}$|[$€£¥,\s]", "")
    f = cleaned.cast(pl.Float64, strict=False)
    return pl.when(f.is_finite()).then(f)


def boolean(s: pl.Expr) -> pl.Expr:
    """true/false, yes/no, 1/0 … (case-insensitive)."""
    k = s.str.to_lowercase()
    return pl.when(k.is_in(TRUE_WORDS)).then(True).when(k.is_in(FALSE_WORDS)).then(False)


def tags(s: pl.Expr) -> pl.Expr:
    """';' or ',' separated items → lower-case, de-duplicated, comma-joined (null if none)."""
    items = (
        s.str.replace_all(";", ",")
        .str.split(",")
        .list.eval(pl.element().str.strip_chars().str.to_lowercase())
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.unique(maintain_order=True)
        .list.join(",")
    )
    return pl.when(items != "").then(items)


def datetime_utc(s: pl.Expr) -> pl.Expr:
    """ISO or month-first US dates and datetimes → naive UTC datetimes (offsets applied)."""
    u = s.str.to_uppercase()
    iso = u.str.extract_groups(_ISO)
    us = u.str.extract_groups(_US)

    def part(expr: pl.Expr) -> pl.Expr:
        return expr.cast(pl.Int32, strict=False)

    year = part(pl.coalesce(iso.struct.field("1"), us.struct.field("3")))
    year = pl.when(year < 100).then(year + 2000).otherwise(year)
    month = part(pl.coalesce(iso.struct.field("2"), us.struct.field("1")))
    day = part(pl.coalesce(iso.struct.field("3"), us.struct.field("2")))
    hour = part(pl.coalesce(iso.struct.field("4"), us.struct.field("4"))).fill_null(0)
    minute = part(pl.coalesce(iso.struct.field("5"), us.struct.field("5"))).fill_null(0)
    second = part(pl.coalesce(iso.struct.field("6"), us.struct.field("6"))).fill_null(0)
    ampm = us.struct.field("7")
    hour = (
        pl.when(ampm.is_null()).then(hour)
        .when(hour > 12).then(pl.lit(99))  # "13:00 PM" is not a time
        .when(ampm == "PM").then(pl.when(hour == 12).then(12).otherwise(hour + 12))
        .otherwise(pl.when(hour == 12).then(0).otherwise(hour))
    )

    def pad(expr: pl.Expr, width: int) -> pl.Expr:
        return expr.cast(pl.String).str.zfill(width)

    text = pl.format(
        "{}-{}-{} {}:{}:{}", pad(year, 4), pad(month, 2), pad(day, 2),
        pad(hour, 2), pad(minute, 2), pad(second, 2),
    )
    local = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    tz = iso.struct.field("7")
    sign = pl.when(tz.str.starts_with("-")).then(-1).otherwise(1)
    tz_hours = tz.str.slice(1, 2).cast(pl.Int32, strict=False)
    tz_minutes = tz.str.replace_all(":", "").str.slice(3, 2).cast(pl.Int32, strict=False)
    offset = (sign * (tz_hours.fill_null(0) * 60 + tz_minutes.fill_null(0))).fill_null(0)
    return local - pl.duration(minutes=offset)


def json_object(s: pl.Expr) -> pl.Expr:
    """The text itself if it is one well-formed JSON object."""
    ok = s.str.strip_chars().str.starts_with("{") & s.str.json_path_match("$").is_not_null()
    return pl.when(ok).then(s)


def parse(spec: FieldSpec, s: pl.Expr) -> pl.Expr:
    """`s` (stripped text, null when empty) parsed as `spec` says."""
    match spec.type:
        case FieldType.TEXT:
            return s
        case FieldType.TOKEN:
            return token(s)
        case FieldType.EMAIL:
            return email(s)
        case FieldType.DOMAIN:
            return domain(s)
        case FieldType.COUNT:
            return count(s)
        case FieldType.NUMBER:
            return number(s)
        case FieldType.DATETIME:
            return datetime_utc(s)
        case FieldType.BOOL:
            return boolean(s)
        case FieldType.TAGS:
            return tags(s)
        case FieldType.JSON:
            return json_object(s)


def storage_text(dt: pl.Expr) -> pl.Expr:
    """A datetime as the 'YYYY-MM-DD HH:MM:SS' text both SQLite and PostgreSQL COPY read."""
    return dt.dt.strftime("%Y-%m-%d %H:%M:%S")


# The formats most exports use, tried with Polars' fast exact parser before the regex path.
FAST_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")
REPEATING = (FieldType.TOKEN, FieldType.BOOL, FieldType.TAGS, FieldType.DOMAIN)


def parse_series(spec: FieldSpec, s: pl.Series) -> pl.Series:
    """`parse` for a whole column, with fast paths for common date formats and repeated values."""
    if spec.type is FieldType.DATETIME:
        return _datetimes(s)
    if spec.type in REPEATING:
        uniques = s.unique()
        if len(uniques) * 4 < len(s):
            table = uniques.to_frame("v").with_columns(parse(spec, pl.col("v")).alias("p"))
            joined = s.to_frame("v").join(table, on="v", how="left", nulls_equal=True,
                                          maintain_order="left")
            return joined["p"]
    return _apply(s, parse(spec, pl.col(s.name)))


def _apply(s: pl.Series, expr: pl.Expr) -> pl.Series:
    return s.to_frame().select(expr).to_series()


def _datetimes(s: pl.Series) -> pl.Series:
    out = s.str.strptime(pl.Datetime("us"), FAST_FORMATS[0], strict=False)
    for fmt in (*FAST_FORMATS[1:], None):
        missing = out.is_null() & s.is_not_null()
        if not missing.any():
            break
        idx = missing.arg_true()
        rest = s.gather(idx)
        if fmt is None:
            parsed = _apply(rest, datetime_utc(pl.col(s.name)))
        else:
            parsed = rest.str.strptime(pl.Datetime("us"), fmt, strict=False)
        out = out.scatter(idx, parsed)
    return out
