"""Training mappings (YAML): the outcome column, the feature columns and their kinds, leaky columns.

Parsed with pydantic at this edge; every problem names the file, the line and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from leadledger.domain.predict.features import FeatureKind, FeatureSpec
from leadledger.errors import LeadledgerError
from leadledger.yamlsource import line_of, plain

MAPPINGS_PACKAGE = "leadledger.services.training.mappings"


class MappingInvalid(LeadledgerError):
    """A training mapping cannot be read or is invalid (the message names file, line and key)."""


class _OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    column: str
    positive: list[str] = Field(min_length=1)
    negative: list[str] = []


class _MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    name: str
    description: str = ""
    outcome: _OutcomeIn
    order: str | None = None
    missing: list[str] = []
    features: dict[str, FeatureKind] = Field(min_length=1)
    leaky: dict[str, FeatureKind] = {}


@dataclass(frozen=True, slots=True)
class TrainingMapping:
    """A validated mapping: how to read a leads CSV for training."""

    name: str
    origin: str  # the built-in name or the file path
    description: str
    outcome_column: str
    positive: frozenset[str]
    negative: frozenset[str]  # empty: every other non-missing value is negative
    order_column: str | None
    missing: frozenset[str]  # extra cell texts read as missing (empty cells always are)
    features: tuple[FeatureSpec, ...]
    leaky: tuple[FeatureSpec, ...]

    def columns(self, include_leaky: bool) -> tuple[FeatureSpec, ...]:
        """The features to train on: the leaky ones only when asked for."""
        return self.features + self.leaky if include_leaky else self.features


def builtin_training_mappings() -> tuple[str, ...]:
    """Names of the training mappings shipped with leadledger."""
    files = resources.files(MAPPINGS_PACKAGE).iterdir()
    return tuple(sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml")))


def load_training_mapping(spec: str | Path) -> TrainingMapping:
    """A built-in mapping by name, or a mapping file by path."""
    if isinstance(spec, str) and spec in builtin_training_mappings():
        text = resources.files(MAPPINGS_PACKAGE).joinpath(f"{spec}.yaml").read_text("utf-8")
        return parse_training_mapping(text, spec)
    path = Path(spec)
    if not path.is_file():
        raise MappingInvalid(
            f"unknown mapping {str(spec)!r}: not a built-in training mapping "
            f"({', '.join(builtin_training_mappings())}) and no such file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingInvalid(f"cannot read mapping {path}: {exc}") from exc
    return parse_training_mapping(text, str(path))


def parse_training_mapping(text: str, origin: str) -> TrainingMapping:
    """Validate mapping YAML text; raise MappingInvalid naming the line and key of each problem."""
    try:
        raw = YAML(typ="rt").load(StringIO(text))
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise MappingInvalid(f"{origin}, line {line}: not valid YAML: {exc.problem}") from None
    if not isinstance(raw, dict):
        raise MappingInvalid(f"{origin}: a training mapping must be a YAML mapping (name, outcome, features)")
    try:
        parsed = _MappingIn.model_validate(plain(raw))
    except ValidationError as exc:
        problems = [
            f"  {origin}, line {line_of(raw, tuple(e['loc']))}: {'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors()
        ]
        raise MappingInvalid(f"invalid training mapping {origin}:\n" + "\n".join(problems)) from None
    return _build(parsed, origin, raw)


def _build(m: _MappingIn, origin: str, raw: Any) -> TrainingMapping:
    both = sorted(set(m.features) & set(m.leaky))
    used = {m.outcome.column, *([m.order] if m.order else [])} & (set(m.features) | set(m.leaky))
    for what, names, key in (("both a feature and leaky", both, "leaky"),
                             ("the outcome or order column, not a feature", sorted(used), "features")):
        if names:
            raise MappingInvalid(
                f"invalid training mapping {origin}, line {line_of(raw, (key,))}: "
                f"{', '.join(names)} cannot be {what}"
            )
    return TrainingMapping(
        name=m.name, origin=origin, description=m.description, outcome_column=m.outcome.column,
        positive=frozenset(m.outcome.positive), negative=frozenset(m.outcome.negative),
        order_column=m.order, missing=frozenset(m.missing),
        features=tuple(FeatureSpec(n, k) for n, k in m.features.items()),
        leaky=tuple(FeatureSpec(n, k) for n, k in m.leaky.items()),
    )


