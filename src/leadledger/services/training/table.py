"""A leads CSV read for training: raw feature text per column, the outcome, the time order.

Every cell is checked against its feature kind while reading; problems name the file, the
physical line and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadledger.domain.predict.features import FeatureKind, FeatureSpec, parse_boolean, parse_number
from leadledger.errors import LeadledgerError
from leadledger.services.training.mapping import TrainingMapping

SHOWN_PROBLEMS = 5


class TrainingDataInvalid(LeadledgerError):
    """A training CSV cannot be read or does not fit its mapping."""


@dataclass(frozen=True, slots=True)
class LeadTable:
    """Leads with a known outcome, column by column (None = missing)."""

    source: str
    features: tuple[FeatureSpec, ...]
    columns: dict[str, list[str | None]]
    outcomes: list[bool]
    lines: list[int]  # physical line in the file (or contact id), for pointing at a lead
    order: list[int] | None  # each lead's position in time order (0 = oldest), when the mapping has one
    skipped: int = 0  # rows without an outcome
    row_label: str = "line"  # what `lines` holds, as shown to people
    groups: list[int] | None = None  # the lead behind each row, when a lead has several rows (snapshots)

    def __len__(self) -> int:
        return len(self.outcomes)

    @property
    def positives(self) -> int:
        """Converted leads."""
        return sum(self.outcomes)

    def subset(self, rows: Sequence[int]) -> LeadTable:
        """The given rows, in the given order."""
        return LeadTable(
            source=self.source, features=self.features,
            columns={k: [v[i] for i in rows] for k, v in self.columns.items()},
            outcomes=[self.outcomes[i] for i in rows], lines=[self.lines[i] for i in rows],
            order=None if self.order is None else [self.order[i] for i in rows], row_label=self.row_label,
            groups=None if self.groups is None else [self.groups[i] for i in rows],
        )


def _check(spec: FeatureSpec, text: str) -> str | None:
    """Why `text` is not a valid value of the feature, or None."""
    if spec.kind is FeatureKind.numeric and parse_number(text) is None:
        return "is not a number"
    if spec.kind is FeatureKind.boolean and parse_boolean(text) is None:
        return "is not yes/no, true/false or 1/0"
    return None


def _order_ranks(keys: list[str]) -> list[int]:
    """Positions in ascending order of the order column: numerically if every key is a number."""
    numbers = [parse_number(k) for k in keys]
    sort_keys: Sequence[float | str] = keys
    if all(n is not None for n in numbers):
        sort_keys = [n for n in numbers if n is not None]
    ranks = [0] * len(keys)
    for rank, i in enumerate(sorted(range(len(keys)), key=lambda i: sort_keys[i])):
        ranks[i] = rank
    return ranks


def read_lead_table(path: Path, mapping: TrainingMapping, *, include_leaky: bool = False) -> LeadTable:
    """Read and check a leads CSV against `mapping`; rows without an outcome are skipped and counted."""
    features = mapping.columns(include_leaky)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise TrainingDataInvalid(f"{path}: the file is empty (expected a header line)")
            index = {name.strip(): i for i, name in enumerate(header)}
            wanted = [(mapping.outcome_column, "outcome.column")]
            wanted += [(mapping.order_column, "order")] if mapping.order_column else []
            wanted += [(s.name, "features" if s in mapping.features else "leaky") for s in features]
            absent = [f"{name!r} (mapping {key})" for name, key in wanted if name not in index]
            if absent:
                raise TrainingDataInvalid(
                    f"{path}, line 1: column(s) {', '.join(absent)} of mapping {mapping.origin} not in the "
                    f"header (columns: {', '.join(header)})"
                )
            return _rows(reader, path, mapping, features, index)
    except OSError as exc:
        raise TrainingDataInvalid(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise TrainingDataInvalid(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise TrainingDataInvalid(f"{path}: not a readable CSV file: {exc}") from exc


def _rows(
    reader: Any, path: Path, mapping: TrainingMapping, features: tuple[FeatureSpec, ...],
    index: dict[str, int],
) -> LeadTable:
    columns: dict[str, list[str | None]] = {s.name: [] for s in features}
    outcomes: list[bool] = []
    lines: list[int] = []
    order_keys: list[str] = []
    problems: list[str] = []
    skipped = 0
    missing = mapping.missing | {""}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        line = reader.line_num
        if len(row) < len(index):
            problems.append(f"line {line}: {len(row)} fields, the header has {len(index)}")
            continue
        label = row[index[mapping.outcome_column]].strip()
        if label in missing:
            skipped += 1
            continue
        if label not in mapping.positive and mapping.negative and label not in mapping.negative:
            positive, negative = ", ".join(sorted(mapping.positive)), ", ".join(sorted(mapping.negative))
            problems.append(
                f"line {line}: column {mapping.outcome_column!r}: outcome {label!r} is neither positive "
                f"({positive}) nor negative ({negative})"
            )
            continue
        if mapping.order_column:
            key = row[index[mapping.order_column]].strip()
            if key in missing:
                problems.append(f"line {line}: column {mapping.order_column!r} (mapping order) is empty")
                continue
            order_keys.append(key)
        for spec in features:
            text = row[index[spec.name]].strip()
            value = None if text in missing else text
            why = None if value is None else _check(spec, value)
            if why:
                problems.append(f"line {line}: column {spec.name!r} ({spec.kind.value}): {text!r} {why}")
            columns[spec.name].append(value)
        outcomes.append(label in mapping.positive)
        lines.append(line)
    if problems:
        more = f"\n  … and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        raise TrainingDataInvalid(
            f"{path} does not fit mapping {mapping.origin} ({len(problems)} problem(s)):\n"
            + "\n".join(f"  {path}, {p}" for p in problems[:SHOWN_PROBLEMS]) + more
        )
    order = _order_ranks(order_keys) if mapping.order_column else None
    return LeadTable(source=str(path), features=features, columns=columns, outcomes=outcomes,
                     lines=lines, order=order, skipped=skipped)
