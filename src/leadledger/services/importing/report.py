"""The outcome of one import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    """Counts for one file: rows_read = inserted + updated + unchanged + rejected.

    `duplicates` counts events delivered twice (already stored, or repeated in the file); they
    change nothing, so they are also counted as unchanged.
    """

    kind: str
    file: Path
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    duplicates: int
    reject_file: Path | None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "file": str(self.file),
            "rows_read": self.rows_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "reject_file": str(self.reject_file) if self.reject_file else None,
            "warnings": list(self.warnings),
        }
