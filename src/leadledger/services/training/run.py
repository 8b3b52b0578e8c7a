"""`leadledger train --csv`: read, check, cross-validate every model, explain the product model."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadledger.domain.predict.explain import Explanation
from leadledger.domain.predict.features import as_category
from leadledger.domain.predict.leakage import DEFAULT_THRESHOLD, Leak, suspected_leaks
from leadledger.domain.predict.metrics import CalibrationBin, Lift
from leadledger.domain.predict.readiness import DEFAULT_MINIMUM_PER_OUTCOME, training_refusal
from leadledger.domain.predict.rules import by_signal, signal_of
from leadledger.errors import LeadledgerError
from leadledger.services.training.evaluation import (
    Fold,
    ModelResult,
    Split,
    cross_validate,
    stratified_folds,
    time_folds,
)
from leadledger.services.training.mapping import TrainingMapping
from leadledger.services.training.models import MODELS, ModelKind, ProductModel, fit_product, number_edges
from leadledger.services.training.table import LeadTable

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from leadledger.services.training.ledger import LedgerOutcome, LedgerSet
    from leadledger.services.training.rules import RuleComparison

EXAMPLES = 3
MIN_SEEN = 20  # a signal's effect where it occurred is reported when it occurred on this many rows
EXPLAIN_ROWS = 10_000  # importance and examples from a seeded sample of this many rows (SHAP is per row)


class TrainingRefused(LeadledgerError):
    """There is not enough (or not the right) data to train on; the message says why."""


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    """How to evaluate: fold scheme and counts, the data minimum, the leakage threshold, threads."""

    split: Split = Split.stratified
    folds: int = 5
    repeats: int = 3
    seed: int = 0
    threads: int = 1
    minimum_per_outcome: int = DEFAULT_MINIMUM_PER_OUTCOME
    leak_threshold: float = DEFAULT_THRESHOLD
    models: tuple[ModelKind, ...] = MODELS


@dataclass(frozen=True, slots=True)
class ExampleLead:
    """One lead of the file, scored and explained by the model trained on every lead."""

    line: int
    converted: bool
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """Everything `leadledger train` prints: data, warnings, cross-validated figures, explanations."""

    source: str
    mapping: str
    leads: int
    skipped: int
    positives: int
    features: tuple[str, ...]
    leaky: tuple[str, ...]  # the mapping's leaky columns
    leaky_included: bool
    split: Split
    folds: int
    repeats: int
    leaks: tuple[Leak, ...]
    results: tuple[ModelResult, ...]
    calibration: dict[str, list[CalibrationBin]]
    gains: dict[str, list[Lift]]
    importance: tuple[tuple[str, float], ...]  # feature, mean |effect| on the probability
    examples: tuple[ExampleLead, ...]
    rounds: int
    seconds: float
    row_label: str = "line"  # what an example's `line` is: a CSV line or a contact id
    rules: RuleComparison | None = None  # from the ledger: the current rule score and suggested weights
    rows_note: str = ""  # what a row is when it is not simply a lead (ledger snapshots), with the counts
    distinct_leads: int | None = None  # leads behind the rows, when a lead has several rows
    # per signal: mean |effect| on the rows where it occurred (event count > 0, field present), and those rows
    where_seen: tuple[tuple[str, float, int], ...] = ()

    @property
    def drivers(self) -> list[tuple[str, float]]:
        """Mean |effect| per signal: an event type's count, decayed sum and recency added up."""
        return by_signal(self.importance)

    @property
    def negatives(self) -> int:
        """Leads that did not convert."""
        return self.leads - self.positives

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source, "mapping": self.mapping, "leads": self.leads, "skipped": self.skipped,
            "converted": self.positives, "not_converted": self.negatives,
            "features": list(self.features), "leaky": list(self.leaky), "leaky_included": self.leaky_included,
            "split": self.split.value, "folds": self.folds, "repeats": self.repeats,
            "warnings": [{"feature": x.feature, "auc": x.auc, "message": x.warning()} for x in self.leaks],
            "models": [
                {"key": r.key, "label": r.label, "seconds": r.seconds,
                 "metrics": {k: {"mean": s.mean, "sd": s.sd, "low": s.low, "high": s.high, "folds": s.folds}
                             for k, s in r.summary().items()},
                 "calibration": [vars_of(b) for b in self.calibration[r.key]],
                 "gains": [vars_of(g) for g in self.gains[r.key]]}
                for r in self.results
            ],
            "product": {
                "rounds": self.rounds,
                "importance": [{"feature": f, "mean_effect": e} for f, e in self.importance],
                "drivers": [{"signal": f, "mean_effect": e} for f, e in self.drivers],
                "where_seen": [{"signal": f, "mean_effect": e, "rows": n} for f, e, n in self.where_seen],
                "examples": [
                    {self.row_label: x.line, "converted": x.converted,
                     "probability": x.explanation.probability, "up": [f.words() for f in x.explanation.up],
                     "down": [f.words() for f in x.explanation.down]}
                    for x in self.examples
                ],
            },
            "rules": None if self.rules is None else self.rules.to_dict(),
            "rows": {"rows": self.leads, "leads": self.distinct_leads or self.leads, "note": self.rows_note},
            "seconds": self.seconds,
        }


def vars_of(obj: Any) -> dict[str, Any]:
    """A slotted dataclass as a dict."""
    return {k: getattr(obj, k) for k in obj.__slots__}


def make_folds(table: LeadTable, options: TrainingOptions) -> list[Fold]:
    """The folds for the chosen split; refuses a fold that lacks either outcome."""
    if options.split is Split.time:
        if table.order is None:
            raise TrainingRefused("a time-ordered split needs an `order` column in the mapping")
        folds = time_folds(table.order, options.folds, table.groups)
    else:
        folds = stratified_folds(table.outcomes, options.folds, options.repeats, options.seed, table.groups)
    for fold in folds:
        for part, rows in (("training", fold.train), ("test", fold.test)):
            won = sum(table.outcomes[i] for i in rows)
            if won in (0, len(rows)):
                raise TrainingRefused(
                    f"fold {fold.number + 1}'s {part} rows are all one outcome: use fewer folds or more data"
                )
    return folds


def outcome_counts(table: LeadTable) -> tuple[int, int]:
    """Converted and unconverted leads: with several rows per lead, counted per lead, not per row.

    A lead's weekly snapshots are not independent evidence (one lead that converts in week 9 gives up
    to four converted rows), so the data minimum asks for that many distinct leads of each outcome.
    """
    if table.groups is None:
        return table.positives, len(table) - table.positives
    converted = {g for g, y in zip(table.groups, table.outcomes, strict=True) if y}
    return len(converted), len(set(table.groups) - converted)


def leak_check(table: LeadTable, threshold: float) -> list[Leak]:
    """Features that alone predict the outcome almost perfectly."""
    edges = number_edges(table)
    columns = {
        s.name: [as_category(s, v, edges.get(s.name, ())) for v in table.columns[s.name]]
        for s in table.features
    }
    return suspected_leaks(columns, table.outcomes, threshold)


def explained_rows(rows: int, most: int = EXPLAIN_ROWS, seed: int = 0) -> list[int]:
    """Every row, or a seeded sample of `most` rows (sorted): mean effects settle long before 40,000."""
    import numpy as np

    if rows <= most:
        return list(range(rows))
    return sorted(int(i) for i in np.random.default_rng(seed).choice(rows, most, replace=False))


def _examples(
    model: ProductModel, table: LeadTable, *, seed: int = 0, most: int = EXPLAIN_ROWS
) -> tuple[list[ExampleLead], list[tuple[str, float]], list[tuple[str, float, int]]]:
    """The most and least likely lead and one in the middle, each feature's mean |effect|, per signal
    the mean |effect| where it occurred — over at most `most` rows (a seeded sample)."""
    table = table.subset(explained_rows(len(table), most, seed))
    probabilities, effects = model.effects(table)
    ranked = sorted(range(len(table)), key=lambda i: -probabilities[i])
    picks = list(dict.fromkeys([ranked[0], ranked[len(ranked) // 2], ranked[-1]]))[:EXAMPLES]
    explained = model.explanations(table.subset(picks))
    examples = [ExampleLead(table.lines[i], table.outcomes[i], e)
                for i, e in zip(picks, explained, strict=True)]
    mean_effect = abs(effects).mean(axis=0)
    importance = sorted(((s.name, float(mean_effect[j])) for j, s in enumerate(model.encoder.features)),
                        key=lambda x: -x[1])
    return examples, importance, where_seen(model, table, effects)


def where_seen(model: ProductModel, table: LeadTable, effects: Any) -> list[tuple[str, float, int]]:
    """Per signal, mean |effect| (its features added up) over the rows where it occurred.

    The mean over every row weighs a signal by how common it is: a demo request moves a lead a lot,
    but few rows have one. This asks how much the signal matters to the leads that show it.
    """
    import numpy as np

    columns: dict[str, list[int]] = {}
    for j, s in enumerate(model.encoder.features):
        columns.setdefault(signal_of(s.name), []).append(j)
    found = []
    for signal, js in columns.items():
        count = table.columns.get(f"{signal} count")
        values = count if count is not None else table.columns[model.encoder.features[js[0]].name]
        seen = np.array([v is not None and v != "0" for v in values])
        if seen.sum() >= MIN_SEEN:
            effect = np.abs(effects[:, js]).sum(axis=1)[seen].mean()
            found.append((signal, float(effect), int(seen.sum())))
    return sorted(found, key=lambda x: -x[1])


def train_table(
    table: LeadTable, mapping: TrainingMapping, options: TrainingOptions, *, leaky_included: bool = False,
    progress: Callable[[str, int, int], None] = lambda _s, _d, _t: None,
) -> tuple[TrainingReport, ProductModel]:
    """Cross-validate every model on `table`, then fit the product model on all of it."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    refusal = training_refusal(*outcome_counts(table), options.minimum_per_outcome)
    if refusal:
        raise TrainingRefused(f"{table.source}: {refusal}")
    folds = make_folds(table, options)
    with threadpool_limits(options.threads):
        leaks = leak_check(table, options.leak_threshold)
        results = cross_validate(table, options.models, folds, seed=options.seed, threads=options.threads,
                                 progress=progress)
        model = fit_product(table, seed=options.seed, threads=options.threads)
        examples, importance, seen = _examples(model, table, seed=options.seed)
    report = TrainingReport(
        source=table.source, mapping=mapping.name, leads=len(table), skipped=table.skipped,
        positives=table.positives, features=tuple(s.name for s in table.features),
        leaky=tuple(s.name for s in mapping.leaky), leaky_included=leaky_included, split=options.split,
        folds=options.folds, repeats=1 if options.split is Split.time else options.repeats,
        leaks=tuple(leaks), results=tuple(results),
        calibration={r.key: r.calibration(table.outcomes) for r in results},
        gains={r.key: r.gains(table.outcomes) for r in results},
        importance=tuple(importance), where_seen=tuple(seen), examples=tuple(examples), rounds=model.rounds,
        seconds=time.perf_counter() - started, row_label=table.row_label,
    )
    return report, model


def train_csv(
    csv: Path, mapping_spec: str | Path, options: TrainingOptions, *, include_leaky: bool = False,
    progress: Callable[[str, int, int], None] = lambda _s, _d, _t: None,
) -> tuple[TrainingReport, ProductModel]:
    """Train and evaluate straight from a leads CSV and its mapping (no database)."""
    from leadledger.services.training.mapping import load_training_mapping
    from leadledger.services.training.table import read_lead_table

    mapping = load_training_mapping(mapping_spec)
    table = read_lead_table(csv, mapping, include_leaky=include_leaky)
    return train_table(table, mapping, options, leaky_included=include_leaky, progress=progress)


def train_ledger(
    engine: Engine, outcome: LedgerOutcome, options: TrainingOptions, as_of: datetime,
    progress: Callable[[str, int, int], None] = lambda _s, _d, _t: None,
) -> tuple[TrainingReport, ProductModel, LedgerSet]:
    """Train and evaluate on the ledger's own leads, each row as of its decision (snapshot) time."""
    from threadpoolctl import threadpool_limits

    from leadledger.services.training.ledger import ledger_table
    from leadledger.services.training.rules import compare_rules

    found = ledger_table(engine, outcome, as_of, seed=options.seed)
    report, model = train_table(found.table, found.mapping, options, progress=progress)
    report = dataclasses.replace(report, rows_note=found.rows_note, distinct_leads=found.leads)
    if found.scoring is None or len(found.rule_rows) != len(found.table):
        return report, model, found
    started = time.perf_counter()
    product = next(r for r in report.results if r.key == "product")
    with threadpool_limits(options.threads):
        rules = compare_rules(found.rule_rows, found.table.outcomes, found.scoring,
                              make_folds(found.table, options), product.pooled)
    report = dataclasses.replace(report, rules=rules, seconds=report.seconds + time.perf_counter() - started)
    return report, model, found
