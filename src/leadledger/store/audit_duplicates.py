"""Contacts that may be duplicates (LL013 same email, LL014 same name at a domain), in one read.

Four columns of every contact are read as tuples and keyed in Polars; rows that are not plain
ASCII go through the rules' own normalizers, so the keys are exactly the rules' keys. Only members
of a group of two or more are returned: the audit lists those, and the rules decide on them.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from leadledger.domain.audit.duplicate_rules import email_key, person_key

_SCHEMA = {"id": pl.Int64, "email": pl.String, "first": pl.String, "last": pl.String}
_KEYS = {"id": pl.Int64, "email_key": pl.String, "domain": pl.String, "person": pl.String}


def _ascii(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col).str.len_bytes() == pl.col(col).str.len_chars())


def _plain_keys(df: pl.LazyFrame) -> pl.LazyFrame:
    """Keys of rows with a lower-case printable address and ASCII names, computed column-wise."""
    name = pl.concat_str([pl.col("first"), pl.col("last")], separator=" ", ignore_nulls=True)
    return df.select(
        pl.col("id"),
        pl.col("email").alias("email_key"),
        pl.col("email").str.split("@").list.last().alias("domain"),
        name.str.to_lowercase().str.replace_all(r"[^A-Za-z0-9_]+", " ").str.strip_chars(" ").alias("person"),
    )


def _other_keys(df: pl.DataFrame) -> pl.DataFrame:
    """Keys of the remaining rows, one by one with the rules' normalizers."""
    rows = []
    for cid, email, first, last in df.iter_rows():
        key = email_key(email)
        name = " ".join(p for p in (first, last) if p)
        rows.append((cid, key, key.rsplit("@", 1)[-1] if key else None, person_key(name)))
    return pl.DataFrame(rows, schema=_KEYS, orient="row")


def duplicate_candidates(conn: Connection) -> list[int]:
    """Ids of contacts sharing an email key, or a person key at one domain with a different email."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()  # plain tuples: no row objects for a million rows
    try:
        cur.execute("SELECT id, email, first_name, last_name FROM contacts")
        df = pl.DataFrame(cur.fetchall(), schema=_SCHEMA, orient="row")
    finally:
        cur.close()
    email = pl.col("email")
    plain = email.str.contains(r"^[!-~]+$") & (email == email.str.to_lowercase())
    plain = plain & _ascii("first") & _ascii("last")
    others = _other_keys(df.filter(~plain)).lazy()
    keyed = pl.concat([_plain_keys(df.lazy().filter(plain)), others])
    keyed = keyed.filter(pl.col("email_key").is_not_null())
    same_email = keyed.filter(pl.len().over("email_key") > 1).select("id")
    # LL014 compares the first record of each address (lowest id: the audit lists contacts by id).
    first = keyed.sort("id").unique("email_key", keep="first", maintain_order=True)
    same_name = first.filter(pl.col("person").str.contains(" ")).filter(pl.len().over("domain", "person") > 1)
    ids = pl.concat([same_email, same_name.select("id")]).unique().sort("id").collect()
    return [int(i) for i in ids["id"]]
