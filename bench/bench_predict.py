"""Predictive-scoring benchmark on real data: the product model against a grid-searched
HistGradientBoosting, logistic regression and the naive-Bayes baseline, in one run, on the same folds.

    OMP_NUM_THREADS=1 python bench/bench_predict.py --variants free,all  # X Education: ~35 min, 2 cores
    OMP_NUM_THREADS=1 python bench/bench_predict.py --variants free --repeats 1 --grid small   # quick look

Feature sets (`--variants`), all from the built-in x-education mapping:
  free     the mapping's features only: nothing sales records after contact (the headline)
  sales4   also Lead Profile and the Asymmetrique columns; only Tags, Lead Quality, Last Activity and
           Last Notable Activity left out (the data set README's reference cut)
  all      every column, leaky ones included (optimistic: not available for a new lead)

Every model sees the same encoded features (the product's encoder, fitted per training fold) and the
same folds: 5 stratified folds × 2 repeats, plus 5 time-ordered folds by Lead Number for `free`.
The HGB baseline is tuned by an inner 3-fold grid search inside each outer training fold (so its
test fold is never seen while tuning); the product model runs with its fixed defaults.
Results: a Markdown table on stdout, everything in bench/results/predict-x-education.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from leadledger.services.training.evaluation import (
    Fold,
    ModelResult,
    cross_validate,
    stratified_folds,
    time_folds,
)
from leadledger.services.training.mapping import TrainingMapping, load_training_mapping
from leadledger.services.training.matrix import Encoder, fit_encoder
from leadledger.services.training.models import LOGISTIC, NAIVE_BAYES, PRODUCT, ModelKind
from leadledger.services.training.table import LeadTable, read_lead_table

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "x-education-leads" / "Leads.csv"
SALES_RECORDED = ("Tags", "Lead Quality", "Last Activity", "Last Notable Activity")
GRIDS = {
    "full": {"learning_rate": [0.03, 0.1], "max_leaf_nodes": [7, 15, 31], "min_samples_leaf": [20, 60],
             "l2_regularization": [0.0, 1.0]},
    "small": {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [7, 31]},
}


@dataclass(frozen=True, slots=True)
class HGBModel:
    """A fitted HistGradientBoostingClassifier over the product's encoded features."""

    encoder: Encoder
    model: Any
    params: dict[str, Any]

    def predict(self, table: LeadTable) -> NDArray[np.float64]:
        """P(converted)."""
        return np.asarray(self.model.predict_proba(self.encoder.matrix(table))[:, 1], dtype=float)


TUNED: list[dict[str, Any]] = []  # the grid's pick per outer fold, for the record


def hgb_kind(grid: dict[str, list[Any]] | None) -> ModelKind:
    """HGB with sklearn defaults (grid None), or grid-searched on inner folds of the training rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    def fit(table: LeadTable, *, seed: int = 0, threads: int = 1) -> HGBModel:
        encoder = fit_encoder(table)
        x, y = encoder.matrix(table), np.asarray(table.outcomes)
        mask = [j in set(encoder.categorical) for j in range(x.shape[1])]
        if grid is None:
            model = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed).fit(x, y)
            return HGBModel(encoder, model, {})
        base = HistGradientBoostingClassifier(
            categorical_features=mask, max_iter=500, early_stopping=True, validation_fraction=0.15,
            n_iter_no_change=20, random_state=seed)
        search = GridSearchCV(base, grid, scoring="roc_auc", n_jobs=1,
                              cv=StratifiedKFold(3, shuffle=True, random_state=seed + 1)).fit(x, y)
        TUNED.append(search.best_params_)
        return HGBModel(encoder, search.best_estimator_, search.best_params_)

    key, label = ("hgb_default", "HGB, scikit-learn defaults") if grid is None else (
        "hgb_tuned", "HGB, grid-searched (inner 3-fold CV)")
    return ModelKind(key, label, fit)


def variant(mapping: TrainingMapping, name: str) -> tuple[TrainingMapping, bool]:
    """The mapping for a feature set, and whether to read its leaky columns."""
    if name == "free":
        return mapping, False
    if name == "all":
        return mapping, True
    kept = tuple(s for s in mapping.leaky if s.name not in SALES_RECORDED)
    return replace(mapping, features=mapping.features + kept, leaky=()), False


def paired(a: ModelResult, b: ModelResult) -> dict[str, float]:
    """Product − tuned HGB ROC AUC per fold: mean, sd, and folds won."""
    diffs = [x.roc_auc - y.roc_auc for x, y in zip(a.folds, b.folds, strict=True)]
    return {"mean": statistics.fmean(diffs), "sd": statistics.stdev(diffs) if len(diffs) > 1 else 0.0,
            "wins": sum(d > 0 for d in diffs), "ties": sum(d == 0 for d in diffs), "folds": len(diffs)}


def run(table: LeadTable, folds: list[Fold], models: list[ModelKind]) -> list[ModelResult]:
    """Cross-validate with a progress line on stderr."""
    def progress(_step: str, done: int, total: int) -> None:
        print(f"\r  fold {done}/{total}", end="", file=sys.stderr, flush=True)

    results = cross_validate(table, models, folds, seed=0, threads=1, progress=progress)
    print(file=sys.stderr)
    return results


def row(r: ModelResult) -> dict[str, Any]:
    """A result's figures as mean/sd pairs."""
    return {"model": r.label, "seconds": round(r.seconds, 1),
            **{k: {"mean": s.mean, "sd": s.sd} for k, s in r.summary().items()}}


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DATA)
    parser.add_argument("--variants", default="free,sales4,all")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--grid", choices=sorted(GRIDS), default="full")
    parser.add_argument("--no-time", action="store_true", help="skip the time-ordered folds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "predict-x-education.json")
    args = parser.parse_args()

    base = load_training_mapping("x-education")
    models = [PRODUCT, hgb_kind(GRIDS[args.grid]), hgb_kind(None), LOGISTIC, NAIVE_BAYES]
    record: dict[str, Any] = {
        "command": " ".join(["python", *sys.argv]), "machine": platform.machine(),
        "python": platform.python_version(), "grid": GRIDS[args.grid], "runs": [],
    }
    lines = ["| features | folds | model | ROC AUC | PR AUC | Brier | ECE | lift@10% | capture@20% | s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in args.variants.split(","):
        mapping, leaky = variant(base, name)
        table = read_lead_table(args.csv, mapping, include_leaky=leaky)
        schemes = [(f"{args.folds}×{args.repeats} stratified",
                    stratified_folds(table.outcomes, args.folds, args.repeats, seed=0))]
        if name == "free" and not args.no_time and table.order is not None:
            schemes.append((f"{args.folds} time-ordered", time_folds(table.order, args.folds)))
        for scheme, folds in schemes:
            print(f"{name}, {scheme}: {len(table.features)} features, {len(table):,} leads", file=sys.stderr)
            TUNED.clear()
            started = time.perf_counter()
            results = run(table, folds, models)
            by_key = {r.key: r for r in results}
            record["runs"].append({
                "features": name, "folds": scheme, "feature_count": len(table.features),
                "models": {r.key: row(r) for r in results},
                "product_minus_tuned_hgb": paired(by_key["product"], by_key["hgb_tuned"]),
                "hgb_grid_picks": list(TUNED), "seconds": round(time.perf_counter() - started, 1),
            })
            for r in results:
                s = r.summary()
                lines.append(
                    f"| {name} | {scheme} | {r.label} | {s['roc_auc']} | {s['pr_auc']} | {s['brier']} | "
                    f"{s['ece']} | {s['lift_10'].mean:.2f} | {s['capture_20'].mean:.1%} | {r.seconds:.0f} |"
                )
            d = record["runs"][-1]["product_minus_tuned_hgb"]
            print(f"  product − tuned HGB ROC AUC: {d['mean']:+.4f} ± {d['sd']:.4f}, "
                  f"product ahead in {d['wins']} of {d['folds']} folds", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print("\n".join(lines))
    for r in record["runs"]:
        d = r["product_minus_tuned_hgb"]
        print(f"{r['features']}, {r['folds']}: product − tuned HGB = {d['mean']:+.4f} ± {d['sd']:.4f} "
              f"(product ahead in {d['wins']} of {d['folds']} folds)")


if __name__ == "__main__":
    main()
