"""The few timestamp expressions SQLite and PostgreSQL spell differently, for set-based reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Integer, String, and_, case, cast, func, literal

from leadledger.store.db import to_db

Window = tuple[datetime | None, datetime | None]


class Dialect:
    """Timestamps as stored (naive UTC): bounds, calendar keys and differences in whole seconds."""

    def __init__(self, conn: Connection) -> None:
        self.pg = conn.dialect.name == "postgresql"

    def ts(self, value: datetime) -> Any:
        """A timestamp bound for comparison with stored (naive UTC) timestamps."""
        naive = to_db(value)
        assert naive is not None
        # SQLite stores timestamps as text, with or without microseconds; a second-precision
        # bound compares correctly with both forms.
        return naive if self.pg else literal(naive.strftime("%Y-%m-%d %H:%M:%S"), String)

    def month(self, col: ColumnElement[Any]) -> ColumnElement[str]:
        """YYYY-MM of a timestamp."""
        if self.pg:
            return func.to_char(col, "YYYY-MM")
        return func.strftime("%Y-%m", col)

    def day(self, col: ColumnElement[Any]) -> ColumnElement[str]:
        """YYYY-MM-DD of a timestamp."""
        if self.pg:
            return func.to_char(col, "YYYY-MM-DD")
        return func.strftime("%Y-%m-%d", col)

    def seconds(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[int]:
        """Whole seconds between two timestamps (integer arithmetic from here on)."""
        if self.pg:
            return cast(func.extract("epoch", later - earlier), BigInteger)
        return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), Integer)

    def within(self, col: ColumnElement[Any], window: Window) -> ColumnElement[bool]:
        """col in [start, end)."""
        start, end = window
        conds = [col.is_not(None)]
        if start is not None:
            conds.append(col >= self.ts(start))
        if end is not None:
            conds.append(col < self.ts(end))
        return and_(*conds)


def non_negative(x: ColumnElement[int]) -> ColumnElement[int]:
    """x, or 0 where x is negative."""
    return case((x < 0, 0), else_=x)
