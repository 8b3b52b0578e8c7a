"""The reject file: one row per rejected line — line, column, value, reason, then the original row."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

REJECT_COLUMNS = ("line", "column", "value", "reason")

RejectRow = tuple[int, str, str, str, Sequence[str]]


def default_reject_path(path: Path) -> Path:
    """`<stem>.rejects.csv` next to the input file."""
    return path.with_name(f"{path.stem}.rejects.csv")


class RejectWriter:
    """Writes rejects to a temporary file that replaces `path` only when the import succeeds."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.header = list(header)
        self.count = 0
        self._tmp = path.with_name(path.name + ".partial")
        self._file: IO[str] | None = None
        self._csv: Any = None

    def write(self, rows: Iterable[RejectRow]) -> None:
        """Append rejects (already in line order)."""
        for line, column, value, reason, fields in rows:
            if self._file is None:
                self._file = self._tmp.open("w", encoding="utf-8", newline="")
                self._csv = csv.writer(self._file)
                self._csv.writerow([*REJECT_COLUMNS, *self.header])
            padded = list(fields[: len(self.header)])
            padded += [""] * (len(self.header) - len(padded))
            self._csv.writerow([line, column, value, reason, *padded])
            self.count += 1

    def commit(self, remove_stale: bool) -> Path | None:
        """Move the rejects into place; without rejects, optionally delete an old reject file."""
        if self._file is None:
            if remove_stale:
                self.path.unlink(missing_ok=True)
            return None
        self._file.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Throw the partial reject file away (the import itself failed)."""
        if self._file is not None:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
