"""Column mappings (YAML): which file column feeds which field, and how source values translate."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from leadledger.errors import ImportFailed
from leadledger.services.importing import parse
from leadledger.services.importing.fields import KINDS, KindSpec

DEFAULT_MAPPING = "leadledger"
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class _KindIn(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    columns: dict[str, str] = {}
    values: dict[str, dict[str, str | None]] = {}
    constants: dict[str, str] = {}
    templates: dict[str, str] = {}  # field → text with {Column} placeholders: lead-{Lead Number}@x.invalid


class _MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    name: str
    description: str = ""
    accounts: _KindIn | None = None
    contacts: _KindIn | None = None
    events: _KindIn | None = None
    opportunities: _KindIn | None = None
    evidence: _KindIn | None = None
    spend: _KindIn | None = None


@dataclass(frozen=True, slots=True)
class ValueMap:
    """Source value → field value, looked up case- and punctuation-insensitively."""

    table: dict[str, str | None]
    known: tuple[str, ...]  # the source values as written in the mapping, for messages


@dataclass(frozen=True, slots=True)
class KindMapping:
    """One kind's section of a mapping."""

    mapping: str
    spec: KindSpec
    columns: dict[str, tuple[str, ...]]  # field → source columns, preferred first
    values: dict[str, ValueMap]
    constants: dict[str, str]
    templates: dict[str, str] = field(default_factory=dict)  # field → text with {Column} placeholders


def header_key(name: str) -> str:
    """Header names match case-insensitively and ignoring repeated spaces."""
    return re.sub(r"\s+", " ", name.strip().lstrip("\ufeff")).casefold()


def builtin_mappings() -> tuple[str, ...]:
    """Names of the mappings shipped with leadledger."""
    files = resources.files("leadledger.mappings").iterdir()
    return tuple(sorted(f.name[:-5] for f in files if f.name.endswith(".yaml")))


def _read(spec: str | Path | None) -> tuple[str, str]:
    """(YAML text, where it came from) for a built-in name or a file path."""
    name = DEFAULT_MAPPING if spec is None else spec
    if isinstance(name, str) and name in builtin_mappings():
        return resources.files("leadledger.mappings").joinpath(f"{name}.yaml").read_text("utf-8"), name
    path = Path(name)
    if not path.is_file():
        raise ImportFailed(
            f"unknown mapping {str(name)!r}: not a built-in mapping "
            f"({', '.join(builtin_mappings())}) and no such file"
        )
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"cannot read mapping {path}: {exc}") from exc


def load_mapping(spec: str | Path | None, kind: str) -> KindMapping:
    """The `kind` section of a built-in mapping (by name) or of a mapping file (by path)."""
    text, origin = _read(spec)
    try:
        raw: Any = YAML(typ="safe").load(text)
        parsed = _MappingIn.model_validate(raw)
    except YAMLError as exc:
        raise ImportFailed(f"mapping {origin} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ImportFailed(f"invalid mapping {origin}: {problems}") from exc
    section: _KindIn | None = getattr(parsed, kind)
    if section is None:
        raise ImportFailed(f"mapping {parsed.name} ({origin}) has no section for {kind}")
    return _build(parsed.name, origin, KINDS[kind], section)


def _build(name: str, origin: str, spec: KindSpec, section: _KindIn) -> KindMapping:
    fields = set(spec.names)
    bad = sorted(
        {f for f in section.columns.values() if f not in fields}
        | {f for f in section.values if f not in fields}
        | {f for f in section.constants if f not in fields}
        | {f for f in section.templates if f not in fields}
    )
    if bad:
        raise ImportFailed(
            f"mapping {name} ({origin}), {spec.name}: unknown field(s) {', '.join(bad)} "
            f"(fields: {', '.join(spec.names)})"
        )
    columns: dict[str, list[str]] = {}
    for source, target in section.columns.items():
        columns.setdefault(target, []).append(source)
    values = {
        f: ValueMap(
            table={_value_key(k): v for k, v in table.items()},
            known=tuple(dict.fromkeys(table)),
        )
        for f, table in section.values.items()
    }
    return KindMapping(
        mapping=name, spec=spec, columns={f: tuple(s) for f, s in columns.items()},
        values=values, constants=dict(section.constants), templates=dict(section.templates),
    )


def _value_key(value: str) -> str:
    """Python twin of `parse.lookup_key` for the mapping's own keys."""
    return re.sub(r"[^\w]|_", "", value.lower())


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How one file's header feeds the kind's fields."""

    kind: KindMapping
    sources: dict[str, tuple[int, ...]]  # field → header positions, preferred first
    labels: dict[str, str]  # field → the column name to show in rejects
    ignored: tuple[str, ...]
    duplicated: tuple[str, ...]
    # field → (polars format text, the header positions it reads)
    templates: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)

    def raw_columns(self) -> list[pl.Expr]:
        """`raw.<field>` for every field: the stripped file text (null when empty) or the constant."""
        exprs = []
        for f in self.kind.spec.names:
            parts = [_clean(pl.col(f"c{i}")) for i in self.sources.get(f, ())]
            if f in self.templates:  # null when any column it reads is empty
                text, at = self.templates[f]
                parts.append(pl.format(text, *(_clean(pl.col(f"c{i}")) for i in at)))
            if f in self.kind.constants:
                parts.append(pl.lit(self.kind.constants[f], dtype=pl.String))
            if not parts:
                parts.append(pl.lit(None, dtype=pl.String))
            exprs.append(pl.coalesce(parts).alias(f"raw.{f}"))
        return exprs

    def mapped(self, field: str) -> pl.Expr:
        """The field's text after the mapping's value table (unknown values become null)."""
        raw = pl.col(f"raw.{field}")
        vm = self.kind.values.get(field)
        if vm is None:
            return raw
        return parse.lookup_key(raw).replace_strict(vm.table, default=None, return_dtype=pl.String)

    def unknown_value(self, field: str) -> pl.Expr | None:
        """True where the field has a value its value table does not list."""
        vm = self.kind.values.get(field)
        if vm is None:
            return None
        return pl.col(f"raw.{field}").is_not_null() & ~parse.lookup_key(
            pl.col(f"raw.{field}")
        ).is_in(list(vm.table))


def _clean(col: pl.Expr) -> pl.Expr:
    s = col.str.strip_chars()
    return pl.when(s != "").then(s)


def plan_columns(kind: KindMapping, header: list[str], file: Path) -> ColumnPlan:
    """Match the header to the mapping; ImportFailed if a required column is missing."""
    positions: dict[str, int] = {}
    duplicated: list[str] = []
    for i, name in enumerate(header):
        key = header_key(name)
        if not key:
            continue
        if key in positions:
            duplicated.append(name)
        else:
            positions[key] = i
    sources: dict[str, tuple[int, ...]] = {}
    labels: dict[str, str] = {}
    used: set[int] = set()
    for f in kind.spec.names:
        found = tuple(
            positions[header_key(s)] for s in kind.columns.get(f, ()) if header_key(s) in positions
        )
        if found:
            sources[f] = found
            labels[f] = header[found[0]]
            used.update(found)
        else:
            labels[f] = f
    templates: dict[str, tuple[str, tuple[int, ...]]] = {}
    for f, text in kind.templates.items():
        names = PLACEHOLDER.findall(text)
        absent = [n for n in names if header_key(n) not in positions]
        if absent:
            raise ImportFailed(
                f"{file}: missing column {', '.join(map(repr, absent))} (template of {kind.spec.name} "
                f"field {f}, mapping {kind.mapping}); the header has: "
                + ", ".join(h for h in header if h.strip())
            )
        at = tuple(positions[header_key(n)] for n in names)
        templates[f] = (PLACEHOLDER.sub("{}", text), at)
        used.update(at)
        if f not in sources and at:
            labels[f] = header[at[0]]
    for group in kind.spec.required_columns:
        if not any(f in sources or f in kind.constants or f in templates for f in group):
            raise ImportFailed(_missing_message(kind, group, header, file))
    ignored = tuple(h for i, h in enumerate(header) if i not in used and h.strip())
    return ColumnPlan(kind, sources, labels, ignored, tuple(duplicated), templates)


def _missing_message(kind: KindMapping, group: tuple[str, ...], header: list[str], file: Path) -> str:
    wanted = [s for f in group for s in kind.columns.get(f, ())] or list(group)
    quoted = " or ".join(repr(w) for w in wanted)
    what = "/".join(group)
    return (
        f"{file}: missing required column {quoted} ({kind.spec.name} field {what}, mapping "
        f"{kind.mapping}); the header has: {', '.join(h for h in header if h.strip()) or '(nothing)'}"
    )
